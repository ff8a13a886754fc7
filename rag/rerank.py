"""Second pass over retrieved candidates: a ``Reranker`` interface with several backends.

- ``maxsim`` (offline default): each candidate is scored by its passage similarity mixed with
  its best-matching sentence (sentence vectors are computed at ingest from the same forward
  pass), the dense list is re-ordered by that score and fused with BM25 again.
- ``cross-encoder``: a sentence-transformers ``CrossEncoder`` by name or local path.
- ``none``: keep the fused order.
If a configured backend cannot be loaded, :func:`make_reranker` falls back to ``maxsim`` and
says so in ``warning``; it never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from rag.docstore import DocStore
from rag.retrieve import Passage, rrf

RerankerName = Literal["maxsim", "cross-encoder", "none"]
MAXSIM_MIX = 0.5  # weight of the best sentence vs the whole passage (DESIGN.md measurement)


class Reranker(Protocol):
    """Re-orders candidates and sets ``scores.rerank`` on each."""

    name: str
    # A best rerank score below this means "the documents don't cover it" (see bench/qa.py).
    threshold: float

    def rerank(
        self,
        query: str,
        query_vector: np.ndarray,
        candidates: list[Passage],
        collection: str,
        rrf_k: int,
    ) -> list[Passage]:
        """Candidates in their new order, best first."""
        ...


class NoReranker:
    """Keeps the fused order; the relevance score is the dense similarity."""

    name = "none"
    threshold = 0.35

    def rerank(
        self,
        query: str,
        query_vector: np.ndarray,
        candidates: list[Passage],
        collection: str,
        rrf_k: int,
    ) -> list[Passage]:
        for p in candidates:
            p.scores.rerank = p.scores.dense
        return candidates


class MaxSimReranker:
    """Passage + best-sentence similarity, fused again with the BM25 ranking."""

    name = "maxsim"
    threshold = 0.45

    def __init__(self, docs: DocStore) -> None:
        self.docs = docs

    def rerank(
        self,
        query: str,
        query_vector: np.ndarray,
        candidates: list[Passage],
        collection: str,
        rrf_k: int,
    ) -> list[Passage]:
        if not candidates:
            return candidates
        stored = self.docs.get_chunks(collection, [p.chunk_id for p in candidates])
        q = np.asarray(query_vector, dtype=np.float32)
        for p in candidates:
            chunk = stored.get(p.chunk_id)
            passage = float(chunk.vector @ q) if chunk is not None else (p.scores.dense or 0.0)
            sentences = chunk.sentence_vectors if chunk is not None else None
            best = (
                float((sentences.astype(np.float32) @ q).max())
                if sentences is not None and len(sentences)
                else passage
            )
            p.scores.rerank = (1 - MAXSIM_MIX) * passage + MAXSIM_MIX * best
        by_maxsim = [p.chunk_id for p in sorted(candidates, key=lambda p: -(p.scores.rerank or 0))]
        by_bm25 = [
            p.chunk_id
            for p in sorted(
                (p for p in candidates if p.scores.bm25_rank is not None),
                key=lambda p: p.scores.bm25_rank or 0,
            )
        ]
        fused = rrf([(by_maxsim, 1.0), (by_bm25, 1.0)], rrf_k)
        return sorted(candidates, key=lambda p: -fused[p.chunk_id])


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder; scores are squashed to 0..1 with a sigmoid."""

    name = "cross-encoder"
    threshold = 0.1

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(model, device="cpu")
        self.name = f"cross-encoder ({model})"

    def rerank(
        self,
        query: str,
        query_vector: np.ndarray,
        candidates: list[Passage],
        collection: str,
        rrf_k: int,
    ) -> list[Passage]:
        if not candidates:
            return candidates
        logits = self.model.predict([(query, p.text) for p in candidates], show_progress_bar=False)
        for p, logit in zip(candidates, np.atleast_1d(logits), strict=True):
            p.scores.rerank = 1 / (1 + math.exp(-float(logit)))
        return sorted(candidates, key=lambda p: -(p.scores.rerank or 0))


@dataclass
class RerankerChoice:
    """The reranker that will actually run, and why it is not the one asked for (if so)."""

    reranker: Reranker
    warning: str | None = None


def make_reranker(name: str, docs: DocStore, cross_encoder: str | None = None) -> RerankerChoice:
    """Build the configured backend; ``auto`` means ``cross-encoder`` if one is set, else
    ``maxsim``. Load failures fall back to ``maxsim`` with a warning."""
    if name == "auto":
        name = "cross-encoder" if cross_encoder else "maxsim"
    if name == "none":
        return RerankerChoice(NoReranker())
    if name == "cross-encoder":
        if not cross_encoder:
            return RerankerChoice(
                MaxSimReranker(docs),
                "no cross-encoder configured (DOCENT_CROSS_ENCODER); using the offline maxsim pass",
            )
        try:
            return RerankerChoice(CrossEncoderReranker(cross_encoder))
        except Exception as exc:  # any load failure: fall back, never crash
            return RerankerChoice(
                MaxSimReranker(docs),
                f"cross-encoder {cross_encoder!r} could "
                f"not be loaded ({type(exc).__name__}); using the offline "
                "maxsim pass instead",
            )
    return RerankerChoice(MaxSimReranker(docs))
