"""Hybrid retrieval: dense (Chroma, cosine) and BM25 candidates, fused (by default a half and
half mix of their min-max normalised scores; reciprocal rank fusion on request).

The fused candidates are loaded from the durable store in one read, with their vectors, so the
second pass and the extractive answer never go back to the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

import numpy as np

from rag.collection import Collection
from rag.config import Settings
from rag.lexical import LexicalIndex, small_share, tokenize
from rag.passage import Passage, Scores


@dataclass(frozen=True)
class SearchOptions:
    """Knobs of one search; :meth:`from_settings` gives the configured ones."""

    candidates: int = 100  # per retriever, before fusion
    hybrid: bool = True  # BM25 as well as dense
    dense: bool = True  # False with hybrid: BM25 alone (for comparisons)
    rrf_k: int = 20
    bm25_weight: float = 1.0  # weight of the BM25 list in the fusion (dense weighs 1)
    fusion: Literal["convex", "rrf"] = "convex"  # a mix of normalised scores, or rank fusion

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchOptions:
        """The options ``settings`` configure."""
        return cls(
            candidates=settings.candidates,
            hybrid=settings.hybrid,
            rrf_k=settings.rrf_k,
            fusion=settings.fusion,
        )


def rrf(rankings: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Reciprocal rank fusion: each id scores the sum of ``w / (k + rank)`` over the rankings
    (``w`` = 1 unless ``weights`` are given)."""
    fused: dict[str, float] = {}
    for ids, w in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + w / (k + rank)
    return fused


def convex(lists: list[list[tuple[str, float]]], weights: list[float]) -> dict[str, float]:
    """Score fusion: each list's scores min-max normalised to 0..1 (an id a list missed gets 0
    from it), then mixed with ``weights``."""
    fused: dict[str, float] = {}
    for hits, w in zip(lists, weights, strict=True):
        if not hits:
            continue
        values = [score for _, score in hits]
        low, span = min(values), (max(values) - min(values)) or 1.0
        for cid, score in hits:
            fused[cid] = fused.get(cid, 0.0) + w * (score - low) / span
    return fused


def retrieve(
    collection: Collection,
    query: str,
    query_vector: np.ndarray,
    options: SearchOptions,
    timings: dict[str, float] | None = None,
) -> list[Passage]:
    """Candidates for ``query``, best first (fused order), with their scores and vectors.

    Args:
        collection: where to search.
        query: the text, for BM25.
        query_vector: its embedding, for the dense search.
        options: candidate depth, which retrievers, fusion constant.
        timings: if given, seconds per stage are added to it (``dense``, ``bm25``, ``fuse``).
    """
    t0 = time.perf_counter()
    dense = collection.dense(query_vector, options.candidates) if options.dense else []
    t1 = time.perf_counter()
    # BM25 runs even with hybrid search off: fusion then leaves it out, but the second pass
    # and the refusal check read each candidate's BM25 rank (without it, dense-only search
    # refused questions its top passage answered word for word).
    lexical = collection.bm25(query, options.candidates)
    t2 = time.perf_counter()
    lists = [dense, lexical if options.hybrid else []]
    weights = [1.0, options.bm25_weight]
    if options.fusion == "convex":
        fused = convex(lists, [w / sum(weights) for w in weights])
    else:
        fused = rrf([[cid for cid, _ in hits] for hits in lists], options.rrf_k, weights)
    order = sorted(fused, key=fused.__getitem__, reverse=True)
    chunks = collection.load(order)  # ready documents only: a deleted one drops out here
    index = collection.lexical()
    size = index.chunks
    dense_at = {cid: (rank, sim) for rank, (cid, sim) in enumerate(dense, start=1)}
    bm25_at = {cid: (rank, score) for rank, (cid, score) in enumerate(lexical, start=1)}
    passages: list[Passage] = []
    for cid in order:
        if cid not in chunks:
            continue
        d_rank, d_sim = dense_at.get(cid, (None, None))
        b_rank, b_score = bm25_at.get(cid, (None, None))
        scores = Scores(
            dense=d_sim,
            dense_rank=d_rank,
            bm25=b_score,
            bm25_rank=b_rank,
            fused=fused[cid],
            fused_rank=len(passages) + 1,
            collection_chunks=size,
        )
        passages.append(Passage(chunks[cid], scores))
    term_coverage(index, query, passages)
    if timings is not None:
        timings.update(dense=t1 - t0, bm25=t2 - t1, fuse=time.perf_counter() - t2)
    return passages


# Words that frame a question rather than name what it is about ("how many", "do I"). Over
# a large collection IDF already weighs them little; see word_weights for a small one.
QUESTION_WORDS = frozenset(
    tokenize(
        [
            "what which who whom whose when where why how whether many much does do did "
            "can could should would shall may might must have has had am were been "
            "i me my we our you your he she him her them this these those there here "
            "tell explain describe way ways use using per"
        ]
    )[0]
)


def word_weights(lexical: LexicalIndex, words: list[str]) -> dict[str, float]:
    """How much each query word counts in coverage: its IDF over the collection, drawn in a
    small collection towards equal weights for the words that say what the question is
    about and none for :data:`QUESTION_WORDS`.

    Over a few chunks IDF turns upside down: the words of the document's own topic are in
    every chunk, so they weigh least, and "how" or "many", in no chunk, weigh most."""
    idf = lexical.idf(words)
    if not idf:
        return {}
    mean = sum(idf.values()) / len(idf) or 1.0
    small = small_share(lexical.chunks)
    return {
        w: (1 - small) * v / mean + (0.0 if w in QUESTION_WORDS else small) for w, v in idf.items()
    }


def term_coverage(index: LexicalIndex, query: str, passages: list[Passage]) -> None:
    """Set ``scores.coverage``, ``scores.title`` and ``scores.section``: how much of the
    query's IDF mass (its rare words weigh more) a passage's text, its heading path with its
    file name, and its text with its own heading hold."""
    words = set(tokenize([query])[0])
    if not words or not passages:
        return
    idf = word_weights(index, sorted(words))
    total = sum(idf.values()) or 1.0
    n = len(passages)
    labels = [" ".join([*p.headings, PurePath(p.source).stem]) for p in passages]
    # A question may name the section that answers it ("What are the known issues?"): its
    # words are in the heading, not in the list under it.
    own = [p.headings[-1] if p.headings else "" for p in passages]
    tokens = tokenize([p.text for p in passages] + labels + own)
    for i, p in enumerate(passages):
        text, label, heading = tokens[i], tokens[n + i], tokens[2 * n + i]
        p.scores.coverage = sum(idf[w] for w in words.intersection(text)) / total
        p.scores.title = sum(idf[w] for w in words.intersection(label)) / total
        p.scores.section = sum(idf[w] for w in words.intersection({*text, *heading})) / total
