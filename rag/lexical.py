"""BM25 (bm25s) over a collection's chunks: built from the durable copy, saved next to it, and
rebuilt only when the collection changed (never per query)."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed words."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _stopwords()]
    return list(_stemmer().stemWords(words))


class LexicalIndex:
    """One collection's BM25 index, tagged with the collection generation it was built from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = -1
        self.chunk_ids: list[str] = []
        self._doc_codes = np.zeros(0, dtype=np.int64)  # per chunk: index into _doc_index
        self._doc_index: dict[str, int] = {}
        self._bm25 = None
        self._lock = threading.Lock()

    def ensure(
        self, generation: int, corpus: Callable[[], tuple[list[str], list[str], list[str]]]
    ) -> None:
        """Make the index match ``generation``: load it from disk, or rebuild from ``corpus()``.

        Args:
            generation: the collection's change counter (bumped on every add/delete).
            corpus: returns ``(chunk_ids, doc_ids, texts)``; called only to rebuild.
        """
        with self._lock:
            if self.generation == generation:
                return
            if not self._load(generation):
                self._build(*corpus(), generation)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (aligned with :attr:`chunk_ids`)."""
        if self._bm25 is None or not self.chunk_ids:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokenize(query)), dtype=np.float32)

    def _build(self, ids: list[str], doc_ids: list[str], texts: list[str], generation: int) -> None:
        import bm25s

        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index([tokenize(t) for t in texts], show_progress=False)
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        meta = {"generation": generation, "chunk_ids": ids, "doc_ids": doc_ids}
        (tmp / "meta.json").write_text(json.dumps(meta))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)  # readers see the old index or the new one, never half
        self._set(bm25, ids, doc_ids, generation)

    def _set(self, bm25: object, ids: list[str], doc_ids: list[str], generation: int) -> None:
        self._bm25, self.chunk_ids, self.generation = bm25, ids, generation
        names, codes = np.unique(np.array(doc_ids, dtype=str), return_inverse=True)
        self._doc_index = {str(n): i for i, n in enumerate(names)}
        self._doc_codes = codes.astype(np.int64)

    def mask(self, allowed: set[str]) -> np.ndarray:
        """Per chunk: does it belong to one of the ``allowed`` documents? (O(chunks))"""
        keep = np.zeros(len(self._doc_index), dtype=bool)
        keep[[self._doc_index[d] for d in allowed if d in self._doc_index]] = True
        return keep[self._doc_codes] if len(self._doc_codes) else np.zeros(0, dtype=bool)

    def _load(self, generation: int) -> bool:
        import bm25s

        meta_path = self.folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
            if meta["generation"] != generation:
                return False
            ids = meta["chunk_ids"]
            bm25 = bm25s.BM25.load(str(self.folder / "bm25"), show_progress=False) if ids else None
        except (OSError, ValueError, KeyError):
            return False
        self._set(bm25, ids, meta["doc_ids"], generation)
        return True
