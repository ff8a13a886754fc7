"""The second pass over retrieved candidates: the ``Reranker`` interface and its offline backends.

- ``none``: keep the fused order; each passage still gets a relevance score (its similarity
  mixed with its best-matching sentence's) to show.
- ``maxsim``: that relevance score re-orders the dense list, which is fused with BM25 again.
- ``cross-encoder``: a sentence-transformers ``CrossEncoder`` by name or local path, with its
  own refusal threshold.
The offline default, ``learned``, is in :mod:`rag.learned`, and so is the answerability model
that decides "not in your documents" for ``none``, ``maxsim`` and the LLM grader. The LLM
grader is in :mod:`rag.llm_rerank`; which backend runs is decided in :mod:`rag.system`.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from rag.learned import answerability, answerability_threshold
from rag.passage import Passage
from rag.retrieve import rrf

# Weight of the best sentence against the whole passage: sentence-level MaxSim mixed 0.5/0.5
# lifted MiniLM's dense nDCG@10 on SciFact from 0.650 to 0.705 (docs/architecture.md).
MAXSIM_MIX = 0.5


class RerankError(RuntimeError):
    """A second pass failed; the caller keeps the fused order and shows ``str()`` as a warning."""


class Reranker(Protocol):
    """Re-orders candidates and sets ``scores.rerank`` on each."""

    name: str
    # Confidence below this means "the documents don't cover it" (calibrated on tuning splits).
    threshold: float

    def rerank(
        self, query: str, query_vector: np.ndarray, passages: list[Passage]
    ) -> list[Passage]:
        """The passages in their new order, best first.

        Raises:
            RerankError: the backend failed (the fused order stands).
        """
        ...

    def confidence(self, query_vector: np.ndarray, passages: list[Passage]) -> float:
        """How sure it is that the reranked passages answer the question ("not in your
        documents" below :attr:`threshold`)."""
        ...


def best_relevance(query_vector: np.ndarray, passages: list[Passage]) -> float:
    """The confidence of the simple rerankers: the best passage's relevance score."""
    return max((p.scores.rerank or 0.0 for p in passages), default=0.0)


def relevance(
    query_vector: np.ndarray, vector: np.ndarray, sentence_vectors: np.ndarray | None
) -> float:
    """A passage's similarity to the query mixed with its best sentence's similarity."""
    q = np.asarray(query_vector, dtype=np.float32)
    passage = float(np.asarray(vector, dtype=np.float32) @ q)
    best = passage
    if sentence_vectors is not None and len(sentence_vectors):
        best = float((sentence_vectors.astype(np.float32) @ q).max())
    return (1 - MAXSIM_MIX) * passage + MAXSIM_MIX * best


def score_relevance(query_vector: np.ndarray, passages: list[Passage]) -> None:
    """Set ``scores.rerank`` of each passage to its :func:`relevance` (vectors it carries)."""
    for p in passages:
        p.scores.rerank = relevance(query_vector, p.vector, p.chunk.sentence_vectors)


class NoReranker:
    """Keeps the fused order, with relevance scores to show; refusals are the learned
    answerability model's (:func:`rag.learned.answerability`)."""

    confidence = staticmethod(answerability)

    name = "none"

    def __init__(self) -> None:
        self.threshold = answerability_threshold()

    def rerank(
        self, query: str, query_vector: np.ndarray, passages: list[Passage]
    ) -> list[Passage]:
        """The fused order, with relevance scores set."""
        score_relevance(query_vector, passages)
        return passages


class MaxSimReranker:
    """The relevance score re-orders the dense list, which is fused with BM25 again;
    refusals are the learned answerability model's, as for :class:`NoReranker`."""

    confidence = staticmethod(answerability)

    name = "maxsim"

    def __init__(self, rrf_k: int) -> None:
        self.rrf_k = rrf_k
        self.threshold = answerability_threshold()

    def rerank(
        self, query: str, query_vector: np.ndarray, passages: list[Passage]
    ) -> list[Passage]:
        """Passages by RRF of (relevance order, BM25 order)."""
        score_relevance(query_vector, passages)
        by_relevance = [p.chunk_id for p in sorted(passages, key=lambda p: -(p.scores.rerank or 0))]
        by_bm25 = [
            p.chunk_id
            for p in sorted(
                (p for p in passages if p.scores.bm25_rank is not None),
                key=lambda p: p.scores.bm25_rank or 0,
            )
        ]
        fused = rrf([by_relevance, by_bm25], self.rrf_k)
        return sorted(passages, key=lambda p: -fused[p.chunk_id])


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder; scores are squashed to 0..1 with a sigmoid."""

    confidence = staticmethod(best_relevance)

    threshold = 0.1

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(model, device="cpu")
        self.name = f"cross-encoder ({model})"

    def rerank(
        self, query: str, query_vector: np.ndarray, passages: list[Passage]
    ) -> list[Passage]:
        """Passages by the cross-encoder's score, best first."""
        if not passages:
            return passages
        logits = self.model.predict([(query, p.text) for p in passages], show_progress_bar=False)
        for p, logit in zip(passages, np.atleast_1d(logits), strict=True):
            p.scores.rerank = 1 / (1 + math.exp(-float(logit)))
        return sorted(passages, key=lambda p: -(p.scores.rerank or 0))
