"""One immutable BM25 segment: a bm25s index over some documents' chunks, saved once.

A collection's BM25 index (:mod:`rag.lexical`) is a list of segments. A segment is never
changed after it is built: documents deleted later are masked ("dead"), and a segment is
rebuilt (from the durable copy) only when enough of it died or small segments are merged.
Scores are computed here rather than by ``bm25s.retrieve`` so that each query word can be
weighted by the *collection's* IDF instead of the segment's own (bm25s bakes the IDF of the
segment into its stored scores; the weight is the ratio of the two, exactly 1 with one segment).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np


def bm25_idf(df: int, n: int) -> float:
    """BM25's (Lucene's) inverse document frequency, as bm25s computes it at index time."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Segment:
    """A bm25s index over whole documents' chunks, with the chunk and document of each row."""

    name: str
    bm25: Any  # bm25s.BM25
    chunk_ids: list[str]
    docs: list[str]  # doc ids in this segment
    row_doc: np.ndarray  # per row: index into ``docs``
    dead_docs: frozenset[str] = frozenset()
    dead_rows: np.ndarray | None = field(default=None, repr=False)  # bool per row, None: none

    @property
    def size(self) -> int:
        """Rows (chunks) in the segment, dead ones included."""
        return len(self.chunk_ids)

    @property
    def live_docs(self) -> list[str]:
        """Documents of this segment not deleted since it was built."""
        return [d for d in self.docs if d not in self.dead_docs]

    @property
    def dead_fraction(self) -> float:
        """Share of rows that belong to deleted documents."""
        return 0.0 if self.dead_rows is None else float(self.dead_rows.mean())

    def without(self, doc_ids: set[str]) -> Segment:
        """The same segment with ``doc_ids`` (some of its documents) masked as deleted."""
        dead = self.dead_docs | (doc_ids & set(self.docs))
        if dead == self.dead_docs:
            return self
        gone = np.array([d in dead for d in self.docs], dtype=bool)
        return replace(self, dead_docs=frozenset(dead), dead_rows=gone[self.row_doc])

    def df(self, word: str) -> int:
        """How many of the segment's rows contain ``word`` (dead rows included)."""
        col = self.bm25.vocab_dict.get(word)
        if col is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr[col + 1] - indptr[col])

    def top(self, words: Sequence[str], idf: dict[str, float], n: int) -> list[tuple[str, float]]:
        """Up to ``n`` ``(chunk id, score)`` with a positive score, best first.

        Args:
            words: the query's tokens (repeats count, as in bm25s).
            idf: the collection-wide IDF of each word; rows are scored with it.
            n: how many to return.
        """
        scores = self._scores(words, idf)
        if scores is None:
            return []
        k = min(n, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in best if scores[i] > 0]

    def _scores(self, words: Sequence[str], idf: dict[str, float]) -> np.ndarray | None:
        data, indices, indptr = (self.bm25.scores[k] for k in ("data", "indices", "indptr"))
        scores: np.ndarray | None = None
        for word in words:
            col = self.bm25.vocab_dict.get(word)
            if col is None:
                continue
            start, end = int(indptr[col]), int(indptr[col + 1])
            if start == end:
                continue
            if scores is None:
                scores = np.zeros(self.size, dtype=np.float32)
            weight = idf[word] / bm25_idf(end - start, self.size)
            # A word's rows are distinct, so fancy-index += is exact (and faster than add.at).
            scores[indices[start:end]] += data[start:end] * np.float32(weight)
        if scores is not None and self.dead_rows is not None:
            scores[self.dead_rows] = 0.0
        return scores


def build_segment(
    name: str, chunk_ids: list[str], doc_ids: list[str], tokens: list[list[str]]
) -> Segment:
    """A segment over rows already tokenised (:func:`rag.lexical.tokenize`)."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    docs = list(dict.fromkeys(doc_ids))
    where = {d: i for i, d in enumerate(docs)}
    row_doc = np.fromiter((where[d] for d in doc_ids), dtype=np.int32, count=len(doc_ids))
    return Segment(name, bm25, chunk_ids, docs, row_doc)


def save_segment(segment: Segment, folder: Path) -> None:
    """Write the segment into ``folder`` (new; the caller renames it into place)."""
    segment.bm25.save(str(folder / "bm25"), show_progress=False)
    rows = {"chunk_ids": segment.chunk_ids, "docs": segment.docs}
    (folder / "rows.json").write_text(json.dumps(rows))
    np.save(folder / "row_doc.npy", segment.row_doc)


def load_segment(name: str, folder: Path, dead_docs: set[str]) -> Segment:
    """Read a segment saved by :func:`save_segment`, with ``dead_docs`` masked.

    Raises:
        OSError, ValueError, KeyError: missing or damaged files.
    """
    import bm25s

    rows = json.loads((folder / "rows.json").read_text())
    bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    row_doc = np.load(folder / "row_doc.npy")
    if len(row_doc) != len(rows["chunk_ids"]):
        raise ValueError(f"damaged BM25 segment {folder}")
    segment = Segment(name, bm25, rows["chunk_ids"], rows["docs"], row_doc)
    return segment.without(dead_docs)
