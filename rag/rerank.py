"""Second pass over retrieved candidates: a ``Reranker`` interface with several backends.

- ``none`` (offline default): keep the fused order; each passage still gets a relevance score
  (its similarity mixed with its best-matching sentence's; sentence vectors come from the same
  forward pass at ingest) for the "not in your documents" check.
- ``maxsim``: that relevance score re-orders the dense list, which is fused with BM25 again
  (it helped on SciFact's train queries, not on its test queries: see bench/README.md).
- ``cross-encoder``: a sentence-transformers ``CrossEncoder`` by name or local path.
- ``llm``: the configured LLM grades the top candidates (:mod:`rag.llm_rerank`).
If a configured backend cannot be loaded, :func:`make_reranker` falls back to ``none`` and
says so in ``warning``; it never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.docstore import DocStore
from rag.retrieve import Passage, rrf

if TYPE_CHECKING:
    from rag.llm import ChatLLM

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


def score_relevance(
    docs: DocStore, collection: str, query_vector: np.ndarray, passages: list[Passage]
) -> None:
    """Set ``scores.rerank``: passage similarity mixed with its best sentence's similarity."""
    stored = docs.get_chunks(collection, [p.chunk_id for p in passages])
    q = np.asarray(query_vector, dtype=np.float32)
    for p in passages:
        chunk = stored.get(p.chunk_id)
        passage = float(chunk.vector @ q) if chunk is not None else (p.scores.dense or 0.0)
        sentences = chunk.sentence_vectors if chunk is not None else None
        best = passage
        if sentences is not None and len(sentences):
            best = float((sentences.astype(np.float32) @ q).max())
        p.scores.rerank = (1 - MAXSIM_MIX) * passage + MAXSIM_MIX * best


class NoReranker:
    """Keeps the fused order (best on SciFact test); scores relevance for the refusal check."""

    name = "none"
    threshold = 0.50

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
        score_relevance(self.docs, collection, query_vector, candidates)
        return candidates


class MaxSimReranker(NoReranker):
    """The relevance score re-orders the dense list, which is fused with BM25 again."""

    name = "maxsim"

    def rerank(
        self,
        query: str,
        query_vector: np.ndarray,
        candidates: list[Passage],
        collection: str,
        rrf_k: int,
    ) -> list[Passage]:
        super().rerank(query, query_vector, candidates, collection, rrf_k)
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


def make_reranker(
    name: str,
    docs: DocStore,
    cross_encoder: str | None = None,
    llm: ChatLLM | None = None,
    context_tokens: int = 8192,
) -> RerankerChoice:
    """Build the configured backend.

    Args:
        name: ``auto`` (a cross-encoder if one is configured, else ``none``), ``none``,
            ``maxsim``, ``cross-encoder`` or ``llm``.
        docs: the durable copy (sentence vectors for the offline relevance score).
        cross_encoder: model name (already in the local cache) or folder.
        llm: the chat model, for ``llm``.
        context_tokens: that model's context window.
    """
    if name == "llm":
        if llm is None:
            return RerankerChoice(
                NoReranker(docs),
                "the LLM reranker needs an LLM (DOCENT_LLM_BASE_URL or OPENAI_API_KEY); "
                "using the fused order",
            )
        from rag.llm_rerank import LLMReranker  # it builds on this module

        return RerankerChoice(LLMReranker(docs, llm, context_tokens))
    if name == "auto":
        name = "cross-encoder" if cross_encoder else "none"
    if name == "maxsim":
        return RerankerChoice(MaxSimReranker(docs))
    if name != "cross-encoder":
        return RerankerChoice(NoReranker(docs))
    if not cross_encoder:
        return RerankerChoice(
            NoReranker(docs),
            "no cross-encoder is configured (DOCENT_CROSS_ENCODER); using the fused order",
        )
    try:
        return RerankerChoice(CrossEncoderReranker(cross_encoder))
    except Exception as exc:  # any load failure: fall back, never crash
        return RerankerChoice(
            NoReranker(docs),
            f"cross-encoder {cross_encoder!r} could not "
            f"be loaded ({type(exc).__name__}); using the fused order instead",
        )
