"""How much the vector index's approximate search leaves out, and what that costs in quality.

    python -m bench.ann_recall --scifact DIR [--split tune|report] [--ef 100,200,400,800]

For each HNSW search breadth (``ef_search``) and each development set: the share of the exact
10 and 100 nearest chunks (numpy over every stored vector) that Chroma returns for the set's
questions, the median time of one such query, and the default pipeline's figures through
``rag.evaluate``. Chroma applies a new ``ef_search`` when a process next loads the index, so
each breadth is set in one child process and measured in another (neither writes, so Docent
does not widen it). The stores are left at Docent's
own :data:`rag.vectors.SEARCH_EF`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.quality import VARIANTS, docent_for
from bench.sets import DevSet, all_sets
from rag.evaluate import evaluate
from rag.vectors import SEARCH_EF


def set_ef(dev: DevSet, ef: int) -> None:
    """Give the set's collection this search breadth (Chroma applies it when a process next
    loads the index)."""
    docent = docent_for(dev, VARIANTS["default"])
    docent.collection().index.collection.modify(configuration={"hnsw": {"ef_search": ef}})


def measure(dev: DevSet, split: str) -> dict[str, float]:
    """Recall against exact search, query time, and the default's figures."""
    docent = docent_for(dev, VARIANTS["default"])
    collection = docent.collection()
    chunks = list(collection.rows.chunks())
    ids = np.array([c.chunk_id for c in chunks])
    vectors = np.stack([c.vector for c in chunks]).astype(np.float32)
    questions = dev.split(split)
    queries = np.asarray(docent.embedder.encode([q.text for q in questions]), dtype=np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :100]
    raw = collection.index.collection
    found, times = [], []
    for q, want in zip(queries, exact, strict=True):
        start = time.perf_counter()
        got = raw.query(query_embeddings=q.reshape(1, -1), n_results=100, include=[])["ids"][0]
        times.append((time.perf_counter() - start) * 1000)
        found.append(
            (len(set(ids[want[:10]]) & set(got[:10])) / 10, len(set(ids[want]) & set(got)) / 100)
        )
    report = evaluate(docent.answerer(), collection, questions, beir=dev.beir)
    key = report.ndcg_10 if dev.beir else report.hit_1
    return {
        "chunks": len(chunks),
        "recall_10": float(np.mean([f[0] for f in found])),
        "recall_100": float(np.mean([f[1] for f in found])),
        "query_ms": statistics.median(times),
        "main": float(key or 0.0),
        "mrr_10": float(report.mrr_10 or 0.0),
    }


def main() -> None:
    """Every breadth, each in fresh processes; print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.ann_recall")
    parser.add_argument("--scifact", type=Path)
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--ef", default="100,200,400,800")
    parser.add_argument("--child", choices=["set", "measure"])
    parser.add_argument("--value", type=int, default=SEARCH_EF)
    args = parser.parse_args()
    sets = all_sets(args.scifact)
    if args.child == "set":
        for dev in sets:
            set_ef(dev, args.value)
        return
    if args.child == "measure":
        print(json.dumps({dev.name: measure(dev, args.split) for dev in sets}))
        return
    base = [sys.executable, "-m", "bench.ann_recall", "--split", args.split]
    if args.scifact:
        base += ["--scifact", str(args.scifact)]
    print(
        "| set | chunks | ef_search | recall@10 | recall@100 | query ms (p50) "
        "| default hit@1 or nDCG@10 | MRR@10 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows: dict[str, list[str]] = {}
    try:
        for ef in [int(x) for x in args.ef.split(",")]:
            subprocess.run([*base, "--child", "set", "--value", str(ef)], check=True)
            out = subprocess.run(
                [*base, "--child", "measure"], check=True, capture_output=True, text=True
            )
            for name, m in json.loads(out.stdout.strip().splitlines()[-1]).items():
                rows.setdefault(name, []).append(
                    f"| {name} | {m['chunks']:,} | {ef} | {m['recall_10']:.4f} | "
                    f"{m['recall_100']:.4f} | {m['query_ms']:.1f} | {m['main']:.3f} | "
                    f"{m['mrr_10']:.3f} |"
                )
    finally:
        subprocess.run([*base, "--child", "set", "--value", str(SEARCH_EF)], check=True)
    for lines in rows.values():
        print("\n".join(lines))


if __name__ == "__main__":
    main()
