"""BM25 (bm25s) over a collection's chunks: built from the durable copy, saved on disk, and
rebuilt only when the collection's generation moved on (never per query).
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

WORDS = r"(?u)\w+"  # single letters and digits count: R has c(), t(), and version numbers


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, Snowball-stemmed words of each text (bm25s's tokenizer)."""
    from bm25s.tokenization import Tokenizer

    # A fresh tokenizer per call: its vocabulary is state, and queries come from many threads.
    tokenizer = Tokenizer(splitter=WORDS, stopwords="en", stemmer=_stemmer())
    words = tokenizer.tokenize(texts, return_as="string", show_progress=False)
    return [[w for w in doc if w] for doc in words]


Corpus = Callable[[], tuple[list[str], list[str]]]  # () -> (chunk ids, texts)


class LexicalIndex:
    """One collection's BM25 index, tagged with the generation it was built from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = -1
        # (bm25s model or None when empty, chunk ids by row): swapped as one, read lock-free
        self._state: tuple[Any, list[str]] = (None, [])
        self._lock = threading.Lock()

    def ensure(self, generation: int, corpus: Corpus) -> None:
        """Match ``generation``: keep, load from disk, or rebuild from ``corpus()``."""
        with self._lock:
            if self.generation == generation:
                return
            if not self._load(generation):
                self._build(*corpus(), generation)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` ``(chunk id, score)`` pairs, best first; none for a query of stop words."""
        words = tokenize([query])[0]
        bm25, ids = self._state
        if bm25 is None or not words or n <= 0:
            return []
        found, scores = bm25.retrieve([words], k=min(n, len(ids)), show_progress=False)
        return [(ids[i], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0]

    def idf(self, words: list[str]) -> dict[str, float]:
        """Each (tokenised) word's inverse document frequency over the collection's chunks
        (BM25's: rare words weigh more; a word no chunk has gets the highest weight)."""
        bm25, ids = self._state
        n = len(ids)
        out: dict[str, float] = {}
        for word in words:
            df = 0
            if bm25 is not None and word in bm25.vocab_dict:
                col = bm25.vocab_dict[word]
                df = int(bm25.scores["indptr"][col + 1] - bm25.scores["indptr"][col])
            out[word] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def _build(self, ids: list[str], texts: list[str], generation: int) -> None:
        import bm25s

        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(tokenize(texts), show_progress=False)
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "meta.json").write_text(json.dumps({"generation": generation, "chunk_ids": ids}))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)  # readers see the old index or the new one, never half
        self._state, self.generation = (bm25, ids), generation

    def _load(self, generation: int) -> bool:
        import bm25s

        try:
            meta = json.loads((self.folder / "meta.json").read_text())
            if meta["generation"] != generation:
                return False
            ids = meta["chunk_ids"]
            bm25 = bm25s.BM25.load(str(self.folder / "bm25"), show_progress=False) if ids else None
        except (OSError, ValueError, KeyError):
            return False
        self._state, self.generation = (bm25, ids), generation
        return True
