"""Each candidate change to retrieval, measured on every set in one run, against the plain
baseline (RRF k=60 over whole documents or 150-word windows) in the same run.

    python -m bench.changes --scifact DIR [--split tune|report] [--index]

Search-time changes (rank fusion and its constant instead of score fusion, candidate depth,
list weights, RM3-style query expansion for BM25, units scored by their two best chunks) run on
the default index; ``--index`` measures the chunking changes instead (chunk size, overlap,
no heading prefix), re-indexing every set for each, which takes minutes per set. Every change
is measured without a second pass ("fused") and with the learned one ("learned", the shipped
model, trained on the default chunking). Prints one Markdown table: SciFact nDCG@10, hit@1
and MRR@10 of the two question sets. Choose on ``--split tune`` only.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bench.baseline import Baseline
from bench.quality import OUT, Variant, baseline_report, docent_for
from bench.sets import DevSet, all_sets
from rag.evaluate import hit_at, mrr_at, ndcg_at, passage_unit
from rag.learned import LearnedReranker
from rag.lexical import tokenize
from rag.passage import Passage
from rag.questions import Question
from rag.retrieve import SearchOptions, retrieve
from rag.system import Docent

RM3_DOCS = 10  # feedback passages
RM3_TERMS = 10  # expansion terms added to the BM25 query


@dataclass(frozen=True)
class Change:
    """One thing done differently from the default."""

    options: dict[str, object] = field(default_factory=dict)  # SearchOptions fields
    index: dict[str, object] = field(default_factory=dict)  # Settings fields at ingest
    rm3: bool = False
    two_best: bool = False  # a unit scores its best chunk + half its second best
    no_prefix: bool = False  # chunks indexed without their heading path


SEARCH: dict[str, Change] = {
    "default (convex score fusion, 100 candidates)": Change(),
    "RRF k=20 (the default before)": Change({"fusion": "rrf"}),
    "RRF k=10": Change({"fusion": "rrf", "rrf_k": 10}),
    "RRF k=60": Change({"fusion": "rrf", "rrf_k": 60}),
    "30 candidates": Change({"candidates": 30}),
    "200 candidates": Change({"candidates": 200}),
    "BM25 weight 0.5 (dense 2/3, BM25 1/3)": Change({"bm25_weight": 0.5}),
    "BM25 weight 2 (dense 1/3, BM25 2/3)": Change({"bm25_weight": 2.0}),
    "RM3-style expansion for BM25": Change(rm3=True),
    "units by their two best chunks": Change(two_best=True),
}
INDEX: dict[str, Change] = {
    "chunks of 120 tokens": Change(index={"chunk_size": 120}),
    "chunks of 300 tokens": Change(index={"chunk_size": 300}),
    "no overlap": Change(index={"chunk_overlap": 0}),
    "overlap 60": Change(index={"chunk_overlap": 60}),
    "no heading prefix": Change(index={}, no_prefix=True),
}


def expand(docent: Docent, query: str) -> str:
    """RM3-style feedback: the query plus the words that weigh most (term frequency times the
    passage's share of BM25 score, times IDF) in its best BM25 passages."""
    collection = docent.collection()
    hits = collection.bm25(query, RM3_DOCS)
    if not hits:
        return query
    chunks = collection.load([cid for cid, _ in hits])
    total = sum(score for _, score in hits) or 1.0
    weight: collections.Counter[str] = collections.Counter()
    texts = [(chunks[cid].text, score / total) for cid, score in hits if cid in chunks]
    for tokens, (_, share) in zip(tokenize([t for t, _ in texts]), texts, strict=True):
        for word, n in collections.Counter(tokens).items():
            weight[word] += share * n / len(tokens)
    words = set(tokenize([query])[0])
    idf = collection.lexical().idf(list(weight))
    ranked = sorted((w for w in weight if w not in words), key=lambda w: -weight[w] * idf[w])
    return query + " " + " ".join(ranked[:RM3_TERMS])


def search(docent: Docent, change: Change, query: str, learned: bool) -> list[Passage]:
    """Candidates for ``query`` under ``change``, fused, then reordered if ``learned``."""
    options = replace(SearchOptions.from_settings(docent.settings), **change.options)  # type: ignore[arg-type]
    vector = docent.embedder.encode([query])[0]
    if change.rm3:  # BM25 with the expanded query; dense and the features with the question
        found = _rm3(docent, query, expand(docent, query), vector, options)
    else:
        found = retrieve(docent.collection(), query, vector, options)
    return LearnedReranker().rerank(query, vector, found) if learned else found


def _rm3(
    docent: Docent, query: str, expanded: str, vector: np.ndarray, options: SearchOptions
) -> list[Passage]:
    collection = docent.collection()
    original = collection.bm25
    collection.bm25 = lambda _q, n: original(expanded, n)  # type: ignore[method-assign]
    try:
        return retrieve(collection, query, vector, options)
    finally:
        collection.bm25 = original  # type: ignore[method-assign]


def ranked_units(passages: list[Passage], beir: bool, learned: bool, two_best: bool) -> list[str]:
    """Units best first: by their best passage, or by best + half the second best."""
    if not two_best:
        return list(dict.fromkeys(passage_unit(p, beir) for p in passages))
    scores: dict[str, list[float]] = {}
    for p in passages:
        s = (p.scores.rerank or 0.0) if learned else p.scores.fused
        scores.setdefault(passage_unit(p, beir), []).append(s)
    total = {u: v[0] + 0.5 * (v[1] if len(v) > 1 else 0.0) for u, v in scores.items()}
    return sorted(total, key=lambda u: -total[u])


def measure(
    docent: Docent, dev: DevSet, questions: list[Question], change: Change, learned: bool
) -> tuple[float, float]:
    """(the set's main figure, MRR@10): nDCG@10 for BEIR sets, hit@1 for question sets."""
    main, mrr = [], []
    for q in questions:
        if not q.answerable:
            continue
        units = ranked_units(
            search(docent, change, q.text, learned), dev.beir, learned, change.two_best
        )
        main.append(ndcg_at(units, q.gold, 10) if dev.beir else hit_at(units, q.gold, 1))
        mrr.append(mrr_at(units, q.gold, 10))
    return float(np.mean(main)), float(np.mean(mrr))


@contextmanager
def no_heading_prefix() -> Iterator[None]:
    """Index (and build BM25) as if chunks had no heading path in their embedded text."""
    import ingest.chunking
    import rag.chunks

    saved = (rag.chunks.ChunkMeta.prefix, rag.chunks.heading_prefix, ingest.chunking.heading_prefix)
    rag.chunks.ChunkMeta.prefix = property(lambda self: "")  # type: ignore[method-assign,assignment]
    rag.chunks.heading_prefix = ingest.chunking.heading_prefix = lambda headings: ""
    try:
        yield
    finally:
        rag.chunks.ChunkMeta.prefix = saved[0]  # type: ignore[method-assign]
        rag.chunks.heading_prefix, ingest.chunking.heading_prefix = saved[1], saved[2]


def docent_with(dev: DevSet, change: Change) -> Docent:
    """Docent over the set indexed as ``change`` says (built under bench/out/quality/ if new)."""
    if change.no_prefix:
        with no_heading_prefix():
            return docent_for(dev, Variant(index={"chunk_size": 200, "chunk_overlap": 30}))
    return docent_for(dev, Variant(index=dict(change.index)))


def main() -> None:
    """Measure every change on every set; print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.changes")
    parser.add_argument("--scifact", type=Path, required=True)
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--index", action="store_true", help="the chunking changes instead")
    parser.add_argument("--sets", help="comma-separated set names (default: all)")
    args = parser.parse_args()
    sets = [s for s in all_sets(args.scifact) if not args.sets or s.name in args.sets.split(",")]
    default_row = next(iter(SEARCH.items()))
    changes = dict([default_row, *INDEX.items()]) if args.index else SEARCH
    rows: dict[str, list[str]] = {name: [] for name in ["plain RRF k=60 (baseline)", *changes]}
    for dev in sets:
        questions = dev.split(args.split)
        default = docent_for(dev)
        base = baseline_report(dev, questions, Baseline(dev, default.embedder, OUT / "baseline"))
        main_figure = base.ndcg_10 if dev.beir else base.hit_1
        rows["plain RRF k=60 (baseline)"] += [f"{main_figure:.3f}", f"{base.mrr_10:.3f}", "", ""]
        for name, change in changes.items():
            docent = docent_with(dev, change) if change.index or change.no_prefix else default
            measured: list[str] = []
            with no_heading_prefix() if change.no_prefix else nullcontext():
                for learned in (False, True):
                    figure, mrr = measure(docent, dev, questions, change, learned)
                    measured += [f"{figure:.3f}", f"{mrr:.3f}"]
            rows[name] += [measured[0], measured[1], measured[2], measured[3]]
            print(f"{dev.name}: {name}: {measured}", flush=True)
    header = " | ".join(
        f"{s.name} {'nDCG@10' if s.beir else 'hit@1'} fused | MRR fused | learned | MRR learned"
        for s in sets
    )
    print(f"\n{args.split}\n\n| change | {header} |\n|---|" + "---|" * (4 * len(sets)))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
