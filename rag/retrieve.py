"""Hybrid retrieval: dense (Chroma, cosine) and BM25, fused by reciprocal rank fusion."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.embeddings import Embedder
from rag.library import Library


@dataclass
class Scores:
    """Every score a passage collected on its way to the answer (``None``: that stage missed it)."""

    dense: float | None = None  # cosine similarity
    bm25: float | None = None
    dense_rank: int | None = None  # 1-based
    bm25_rank: int | None = None
    fused: float = 0.0  # RRF score
    fused_rank: int = 0
    rerank: float | None = None
    llm: float | None = None  # 0-10 grade from the LLM reranker


@dataclass
class Passage:
    """A retrieved chunk with where it came from and how it scored."""

    chunk_id: str
    text: str
    meta: dict[str, Any]
    scores: Scores = field(default_factory=Scores)

    @property
    def source(self) -> str:
        """File name."""
        return str(self.meta.get("source", ""))

    @property
    def page(self) -> int | None:
        """1-based page, or ``None`` for formats without pages."""
        page = self.meta.get("page")
        return int(page) if page is not None else None

    @property
    def headings(self) -> list[str]:
        """Heading path (outermost first)."""
        value = self.meta.get("headings") or []
        return value if isinstance(value, list) else str(value).split(" > ")


@dataclass
class SearchOptions:
    """Knobs of one search; defaults come from ``Settings``."""

    candidates: int = 100  # per retriever, before fusion
    hybrid: bool = True  # add BM25 to the dense results
    dense: bool = True  # False with hybrid: BM25 alone (for comparisons)
    rrf_k: int = 20
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    documents: list[str] | None = None  # restrict to these document ids


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Reciprocal rank fusion: sum of ``weight / (k + rank)`` over the rankings an id is in."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    """Searches one library with one embedder; safe to share between threads."""

    def __init__(self, library: Library, embedder: Embedder) -> None:
        self.library, self.embedder = library, embedder

    def search(
        self,
        query: str,
        collection: str,
        options: SearchOptions,
        timings: dict[str, float] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Passage]:
        """Candidates for ``query``, best first (fused order), with their scores."""
        timings = timings if timings is not None else {}
        allowed = self.library.docs.ready_doc_ids(collection)
        if options.documents is not None:
            allowed &= set(options.documents)
        if not allowed:
            return []
        t0 = time.perf_counter()
        if query_vector is None and options.dense:
            query_vector = self.embed_query(query)
        dense = self._dense(query_vector, collection, options, allowed) if options.dense else {}
        t1 = time.perf_counter()
        lexical = self._bm25(query, collection, options, allowed) if options.hybrid else {}
        t2 = time.perf_counter()
        passages = self._fuse(collection, dense, lexical, options)
        timings.update(dense=t1 - t0, bm25=t2 - t1, fuse=time.perf_counter() - t2)
        return passages

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector (same model and normalisation as the passages)."""
        return self.embedder.encode([query])[0]

    def _dense(
        self, vector: np.ndarray, collection: str, options: SearchOptions, allowed: set[str]
    ) -> dict[str, tuple[float, Passage]]:
        where = None
        if options.documents is not None:
            where = {"doc_id": {"$in": sorted(allowed)}}
        hits = self.library.index(collection).query(vector, options.candidates, where)
        return {
            h.chunk_id: (h.similarity, Passage(h.chunk_id, h.text, _meta(h.meta)))
            for h in hits
            if h.meta.get("doc_id") in allowed
        }

    def _bm25(
        self, query: str, collection: str, options: SearchOptions, allowed: set[str]
    ) -> dict[str, float]:
        index = self.library.lexical(collection)
        scores = index.scores(query)
        if not len(scores):
            return {}
        scores = np.where(index.mask(allowed), scores, 0.0)
        top = np.argsort(-scores)[: options.candidates]
        return {index.chunk_ids[i]: float(scores[i]) for i in top if scores[i] > 0}

    def _fuse(
        self,
        collection: str,
        dense: dict[str, tuple[float, Passage]],
        lexical: dict[str, float],
        options: SearchOptions,
    ) -> list[Passage]:
        dense_ids = list(dense)  # Chroma returns best first
        bm25_ids = sorted(lexical, key=lexical.__getitem__, reverse=True)
        fused = rrf(
            [(dense_ids, options.dense_weight), (bm25_ids, options.bm25_weight)], options.rrf_k
        )
        missing = [cid for cid in fused if cid not in dense]
        extra = self.library.docs.get_chunks(collection, missing) if missing else {}
        passages: list[Passage] = []
        for rank, cid in enumerate(sorted(fused, key=fused.__getitem__, reverse=True), start=1):
            if cid in dense:
                passage = dense[cid][1]
            elif cid in extra:
                passage = Passage(cid, extra[cid].text, extra[cid].meta)
            else:
                continue  # deleted between the two lookups
            s = passage.scores
            s.dense = dense[cid][0] if cid in dense else None
            s.dense_rank = dense_ids.index(cid) + 1 if cid in dense else None
            s.bm25 = lexical.get(cid)
            s.bm25_rank = bm25_ids.index(cid) + 1 if cid in lexical else None
            s.fused, s.fused_rank = fused[cid], rank
            passages.append(passage)
        return passages


def _meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma stores the heading path as ``a > b``; give it back as a list."""
    out = dict(meta)
    if isinstance(out.get("headings"), str):
        out["headings"] = [h for h in out["headings"].split(" > ") if h]
    return out
