"""Retrieval benchmark on BEIR SciFact: nDCG@10, Recall@100 and latency per pipeline.

    python -m bench.retrieval --scifact DIR [--split test|train] [--limit N]

The corpus is ingested once through Docent's own pipeline (one Markdown document per abstract,
title as heading) into bench/out/scifact (reused by later runs). Documents are ranked by their
best chunk. Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench import scifact
from ingest.pipeline import Source, ingest_sources
from rag.config import Settings
from rag.evaluate import percentile
from rag.passage import Passage
from rag.rerank import MaxSimReranker, NoReranker, Reranker
from rag.retrieve import SearchOptions, retrieve
from rag.system import Docent

OUT = Path(__file__).resolve().parent / "out" / "scifact"
COLLECTION = "scifact"


def build(root: Path) -> Docent:
    """Ingest the corpus (first run only) into bench/out/scifact; Docent over it."""
    docent = Docent(Settings(data_dir=OUT, collection=COLLECTION, _env_file=None))
    collection = docent.collection()
    have = {d.name for d in collection.documents()}
    rows = [r for r in scifact.corpus(root) if f"{r['_id']}.md" not in have]
    if rows:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="ingesting SciFact", unit="doc")
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            sources = [
                Source.from_bytes(f"{r['_id']}.md", f"# {r['title']}\n\n{r['text']}\n".encode())
                for r in part
            ]
            ingest_sources(sources, collection, docent.embedder, docent.settings)
            bar.update(len(part))
        bar.close()
    collection.lexical()
    return docent


def doc_ranking(passages: list[Passage]) -> list[str]:
    """Documents in order of their best passage."""
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(p.source.removesuffix(".md"), None)
    return list(seen)


Pipeline = Callable[[str, dict[str, float]], list[Passage]]


def evaluate(
    name: str, run: Pipeline, queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> dict[str, object]:
    """Run every judged query; nDCG@10, Recall@100 and latency percentiles."""
    ndcg, recall, latency = [], [], []
    stages: dict[str, list[float]] = {}
    for qid, rel in qrels.items():
        timings: dict[str, float] = {}
        start = time.perf_counter()
        ranked = doc_ranking(run(queries[qid], timings))
        latency.append(time.perf_counter() - start)
        for stage, seconds in timings.items():
            stages.setdefault(stage, []).append(seconds)
        ndcg.append(scifact.ndcg_at(ranked, rel, 10))
        recall.append(scifact.recall_at(ranked, rel, 100))
    ms = sorted(x * 1000 for x in latency)
    return {
        "pipeline": name,
        "nDCG@10": statistics.mean(ndcg),
        "R@100": statistics.mean(recall),
        "p50_ms": ms[len(ms) // 2],
        "p95_ms": percentile(ms, 0.95),
        "stages": {s: statistics.median(v) * 1000 for s, v in stages.items()},
    }


def pipelines(docent: Docent) -> dict[str, Pipeline]:
    """The configurations compared."""
    collection = docent.collection()

    def search(reranker: Reranker | None = None, **kw: object) -> Pipeline:
        options = SearchOptions(**kw)  # type: ignore[arg-type]

        def run(query: str, timings: dict[str, float]) -> list[Passage]:
            start = time.perf_counter()
            vector = docent.embedder.encode([query])[0]
            timings["embed"] = time.perf_counter() - start
            found = retrieve(collection, query, vector, options, timings)
            if reranker is None:
                return found
            start = time.perf_counter()
            found = reranker.rerank(query, vector, found)
            timings["rerank"] = time.perf_counter() - start
            return found

        return run

    none = NoReranker()
    return {
        "BM25": search(candidates=200, hybrid=True, dense=False),
        "dense": search(candidates=200, hybrid=False),
        "RRF(BM25, dense) k=60, 200 cand.": search(candidates=200, rrf_k=60, fusion="rrf"),
        "RRF k=20, 100 cand.": search(none, candidates=100, rrf_k=20, fusion="rrf"),
        "RRF k=20, 30 cand.": search(none, candidates=30, rrf_k=20, fusion="rrf"),
        "dense + maxsim, 100 cand.": search(MaxSimReranker(20), candidates=100, hybrid=False),
        "RRF k=60 + maxsim, 100 cand.": search(
            MaxSimReranker(60), candidates=100, rrf_k=60, fusion="rrf"
        ),
        "RRF k=20 + maxsim, 100 cand.": search(
            MaxSimReranker(20), candidates=100, rrf_k=20, fusion="rrf"
        ),
    }


def main() -> None:
    """Build, evaluate, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval")
    parser.add_argument("--scifact", type=Path, help=scifact.HOW)
    parser.add_argument("--split", default="test", choices=["test", "train"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N judged queries")
    args = parser.parse_args()
    root = scifact.folder(args.scifact)
    docent = build(root)
    queries, qrels = scifact.queries(root), scifact.qrels(root, args.split)
    if args.limit:
        qrels = dict(list(qrels.items())[: args.limit])
    docent.search("warm up")
    print(
        f"SciFact {args.split}: {len(qrels)} queries; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores\n"
    )
    print("| pipeline | nDCG@10 | Recall@100 | p50 ms | p95 ms | median ms per stage |")
    print("|---|---|---|---|---|---|")
    for name, run in pipelines(docent).items():
        r = evaluate(name, run, queries, qrels)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())  # type: ignore[union-attr]
        print(
            f"| {name} | {r['nDCG@10']:.3f} | {r['R@100']:.3f} | {r['p50_ms']:.0f} | "
            f"{r['p95_ms']:.0f} | {stages} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
