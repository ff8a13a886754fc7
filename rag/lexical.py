"""BM25 (bm25s) over a collection's chunks: segments built from the durable copy, saved on
disk, and brought up to date only when the collection's generation moved on (never per query).

A change never rebuilds the whole index: new documents become a new segment, deleted ones are
masked in theirs, and segments are rebuilt only when small ones pile up or one is mostly dead
(:func:`plan`). Scores use the collection-wide IDF (:mod:`rag.bm25_segment`); the length
normalisation stays per segment, which is why a large collection is cut into few large ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from rag.bm25_segment import Segment, bm25_idf, build_segment, load_segment, save_segment
from rag.sentences import CJK_CHARS

WORDS = r"(?u)\w+"  # single letters and digits count: R has c(), t(), and version numbers


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


TOKENS = 2  # how text is cut into words; an index on disk cut another way is rebuilt
CJK = re.compile(f"[{CJK_CHARS}]+")  # Chinese, Japanese, Korean: no spaces between words


def _cjk_bigrams(text: str) -> str:
    """Each run of CJK characters as its overlapping pairs ("带薪年假" -> "带薪 薪年 年假"):
    with no spaces, a whole clause was one "word", and no question ever matched it."""

    def pairs(match: re.Match[str]) -> str:
        run = match.group()
        return " " + " ".join(run[i : i + 2] for i in range(max(1, len(run) - 1))) + " "

    return CJK.sub(pairs, text)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, Snowball-stemmed words of each text (bm25s's tokenizer);
    CJK text as character pairs."""
    from bm25s.tokenization import Tokenizer

    # A fresh tokenizer per call: its vocabulary is state, and queries come from many threads.
    tokenizer = Tokenizer(splitter=WORDS, stopwords="en", stemmer=_stemmer())
    texts = [_cjk_bigrams(t) if CJK.search(t) else t for t in texts]
    words = tokenizer.tokenize(texts, return_as="string", show_progress=False)
    return [[w for w in doc if w] for doc in words]


SMALL_COLLECTION = 100  # chunks; see small_share


def small_share(chunks: int) -> float:
    """How small a collection of ``chunks`` chunks is, from 1 (empty) towards 0 (large): how
    little its term statistics say. It is a half at :data:`SMALL_COLLECTION` chunks."""
    return SMALL_COLLECTION / (chunks + SMALL_COLLECTION)


SEGMENT_ROWS = 200_000  # a build cuts the collection into segments of about this many chunks
SMALL_ROWS = 20_000  # segments smaller than this are "small" ...
MAX_SMALL = 8  # ... and merged into one once there would be more of them than this
MAX_DEAD = 0.3  # a segment with more deleted rows than this is rebuilt from its live documents


class LexicalSource(Protocol):
    """What the index reads from the durable copy (:class:`rag.docstore.CollectionRows`)."""

    def ready_sizes(self) -> dict[str, int]:
        """Chunks per ready document."""
        ...

    def ready_texts(
        self, doc_ids: Sequence[str] | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        """Chunk ids, doc ids and indexed texts of ready chunks (of ``doc_ids``, or all)."""
        ...


@dataclass(frozen=True)
class Plan:
    """How to bring segments up to date: the ones kept as they are, and the new ones to build
    (each a list of documents)."""

    keep: list[Segment]
    build: list[list[str]]


def plan(segments: list[Segment], ready: dict[str, int]) -> Plan:
    """Mask deleted documents, then decide what to (re)build: added documents, the small
    segments once there would be more than ``MAX_SMALL``, and mostly-dead segments.

    Args:
        segments: the current segments.
        ready: chunks per ready document (documents without chunks are left out).
    """
    ready = {d: n for d, n in ready.items() if n > 0}
    indexed = {d for s in segments for d in s.live_docs}
    segments = [s.without(indexed - ready.keys()) for s in segments]
    added = [d for d in ready if d not in indexed]
    small = sum(s.size < SMALL_ROWS for s in segments) + (1 if added else 0)
    keep: list[Segment] = []
    again: list[str] = []
    for s in segments:
        if not s.live_docs:
            continue
        if s.dead_fraction > MAX_DEAD or (small > MAX_SMALL and s.size < SMALL_ROWS):
            again += s.live_docs
        else:
            keep.append(s)
    return Plan(keep, _groups(again + added, ready))


def _groups(docs: list[str], sizes: dict[str, int]) -> list[list[str]]:
    """``docs`` cut, in order, into groups of about ``SEGMENT_ROWS`` chunks."""
    groups: list[list[str]] = []
    rows = SEGMENT_ROWS
    for doc in docs:
        if rows + sizes[doc] > SEGMENT_ROWS and (not groups or groups[-1]):
            groups.append([])
            rows = 0
        groups[-1].append(doc)
        rows += sizes[doc]
    return groups


class LexicalIndex:
    """One collection's BM25 index (a list of segments), tagged with the generation it matches."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = -1
        self._segments: list[Segment] = []  # replaced as a whole: searches read it lock-free
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def segments(self) -> list[Segment]:
        """The current segments (for benchmarks and tests)."""
        return self._segments

    def ensure(self, generation: int, source: LexicalSource) -> None:
        """Match ``generation``: keep, load from disk, or catch up with ``source``'s documents
        (only what changed is read and indexed)."""
        with self._lock:
            if self.generation == generation:
                return
            if not self._loaded:
                self._loaded = True
                self._load()
                if self.generation == generation:
                    return
            self._catch_up(generation, source)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` ``(chunk id, score)`` pairs, best first; none for a query of stop words."""
        words = tokenize([query])[0]
        segments = self._segments
        if not segments or not words or n <= 0:
            return []
        idf = self._idf(words, segments)
        found = [hit for s in segments for hit in s.top(words, idf, n)]
        return sorted(found, key=lambda hit: -hit[1])[:n]

    def idf(self, words: list[str]) -> dict[str, float]:
        """Each (tokenised) word's inverse document frequency over the collection's chunks
        (BM25's: rare words weigh more; a word no chunk has gets the highest weight)."""
        return self._idf(words, self._segments)

    @property
    def chunks(self) -> int:
        """How many chunks the index holds, as its IDF counts them (rows of documents deleted
        since the last merge included, as they are in BM25's statistics)."""
        return sum(s.size for s in self._segments)

    @staticmethod
    def _idf(words: Sequence[str], segments: list[Segment]) -> dict[str, float]:
        n = sum(s.size for s in segments)
        return {w: bm25_idf(sum(s.df(w) for s in segments), n) for w in set(words)}

    def _catch_up(self, generation: int, source: LexicalSource) -> None:
        todo = plan(self._segments, source.ready_sizes())
        segments = list(todo.keep)
        self.folder.mkdir(parents=True, exist_ok=True)
        for docs in todo.build:
            chunk_ids, doc_ids, texts = source.ready_texts(docs)
            if chunk_ids:
                segments.append(self._new_segment(chunk_ids, doc_ids, tokenize(texts)))
        self._write_manifest(generation, segments)
        self._segments, self.generation = segments, generation
        self._sweep(segments)

    def _new_segment(
        self, chunk_ids: list[str], doc_ids: list[str], tokens: list[list[str]]
    ) -> Segment:
        name = f"seg-{uuid.uuid4().hex[:12]}"
        segment = build_segment(name, chunk_ids, doc_ids, tokens)
        tmp = self.folder / f"{name}.tmp"
        tmp.mkdir()
        save_segment(segment, tmp)
        tmp.rename(self.folder / name)  # a segment folder is whole or absent
        return segment

    def _write_manifest(self, generation: int, segments: list[Segment]) -> None:
        manifest = {
            "tokens": TOKENS,
            "generation": generation,
            "segments": [{"name": s.name, "dead_docs": sorted(s.dead_docs)} for s in segments],
        }
        tmp = self.folder / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, self.folder / "manifest.json")  # readers see the old list or the new

    def _sweep(self, segments: list[Segment]) -> None:
        """Delete files no manifest names: replaced segments, an older layout's files. Entries
        younger than a minute are left: another process on this data dir may be writing them."""
        keep = {s.name for s in segments} | {"manifest.json"}
        now = time.time()
        for entry in self.folder.iterdir():
            if entry.name in keep or now - entry.stat().st_mtime < 60:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _load(self) -> None:
        try:
            manifest = json.loads((self.folder / "manifest.json").read_text())
            if manifest.get("tokens") != TOKENS:  # words cut another way: rebuilt, once
                return
            segments = [
                load_segment(s["name"], self.folder / s["name"], set(s["dead_docs"]))
                for s in manifest["segments"]
            ]
            generation = int(manifest["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # nothing usable on disk: the catch-up builds it all
        self._segments, self.generation = segments, generation
