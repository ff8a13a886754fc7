"""Retrieval and answer quality on every development set, against the plain baseline.

    python -m bench.quality --scifact DIR [--split tune|report] [--variants a,b] [--sets a,b]
        [--npl DIR] [--cacm DIR]

``--split report`` adds the check sets (bench/sets.py), which have no tuning split: gnuplot,
and NPL and CACM where their folders are given (bench/classic.py says where they come from).

Each set is indexed once per chunking configuration under bench/out/quality/ (reused by later
runs), then every variant is measured through ``rag.evaluate`` (the code behind
``python -m rag eval``), and the plain baseline (bench/baseline.py) in the same run. Prints a
Markdown table per set: hit@1, MRR@10, nDCG@10, Recall@100, refusals, answer spans, latency.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baseline import Baseline, Mode
from bench.sets import DevSet, all_sets, check_sets
from ingest.pipeline import ingest_sources
from rag.config import Settings
from rag.evaluate import (
    EvalReport,
    evaluate,
    hit_at,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
)
from rag.questions import Question
from rag.system import Docent

OUT = Path(__file__).resolve().parent / "out" / "quality"
BATCH = 200  # files per ingest call (progress, and bounded memory)


@dataclass
class Variant:
    """A configuration to measure: how the set is indexed, and how questions run."""

    index: dict[str, Any] = field(default_factory=dict)  # Settings fields used at ingest
    search: dict[str, Any] = field(default_factory=dict)  # Settings fields used per question


VARIANTS: dict[str, Variant] = {
    "default": Variant(),  # RRF k=20 over 100 candidates each, then the learned second pass
    "fused (no second pass)": Variant(search={"reranker": "none"}),
    "fused, RRF k=20": Variant(search={"reranker": "none", "fusion": "rrf"}),
    "fused, RRF k=60": Variant(search={"reranker": "none", "fusion": "rrf", "rrf_k": 60}),
    "dense alone (no second pass)": Variant(search={"reranker": "none", "hybrid": False}),
    "maxsim": Variant(search={"reranker": "maxsim"}),
}


def index_key(variant: Variant) -> str:
    """The folder name of a chunking configuration."""
    return "-".join(f"{k}={v}" for k, v in sorted(variant.index.items())) or "default"


def docent_for(dev: DevSet, variant: Variant | None = None) -> Docent:
    """Docent over the set's collection indexed with ``variant``'s settings (built if new)."""
    variant = variant or VARIANTS["default"]
    settings = Settings(
        data_dir=OUT / index_key(variant) / dev.name,
        collection=dev.name,
        _env_file=None,
        **variant.index,
    )
    docent = Docent(settings)
    collection = docent.collection()
    if not collection.documents():
        from tqdm import tqdm

        sources = list(dev.sources())
        bar = tqdm(total=len(sources), desc=f"indexing {dev.name} ({index_key(variant)})")
        for start in range(0, len(sources), BATCH):
            part = sources[start : start + BATCH]
            failed = [
                f"{r.name}: {r.reason}"
                for r in ingest_sources(part, collection, docent.embedder, settings)
                if r.status == "failed"
            ]
            if failed:  # a benchmark over a partial collection would measure the wrong thing
                raise SystemExit(f"indexing {dev.name} failed: " + "; ".join(failed))
            bar.update(len(part))
        bar.close()
    collection.lexical()
    return docent


def baseline_report(
    dev: DevSet, questions: list[Question], base: Baseline, mode: Mode = "fused"
) -> EvalReport:
    """The baseline's ranking figures (it neither answers nor refuses); ``mode`` picks fused,
    BM25 alone or dense alone."""
    report = EvalReport(len(questions), sum(q.answerable for q in questions), 0, 5)
    report.unanswerable = report.questions - report.answerable
    rows: dict[str, list[float]] = {"h1": [], "mrr": [], "ndcg": [], "r100": []}
    latency = []
    for q in questions:
        if not q.answerable:
            continue
        start = time.perf_counter()
        ranked = base.ranked(q.text, mode)
        latency.append((time.perf_counter() - start) * 1000)
        rows["h1"].append(hit_at(ranked, q.gold, 1))
        rows["mrr"].append(mrr_at(ranked, q.gold, 10))
        rows["ndcg"].append(ndcg_at(ranked, q.gold, 10))
        rows["r100"].append(recall_at(ranked, q.gold, 100))
    mean = {k: sum(v) / len(v) for k, v in rows.items()}
    report.hit_1, report.mrr_10, report.ndcg_10 = mean["h1"], mean["mrr"], mean["ndcg"]
    report.recall_100 = mean["r100"]
    latency.sort()
    report.p50_ms = latency[len(latency) // 2]
    report.p95_ms = percentile(latency, 0.95)
    return report


def row(name: str, r: EvalReport) -> str:
    """One table row."""

    def f(v: float | None, digits: int = 3) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    return (
        f"| {name} | {f(r.hit_1)} | {f(r.mrr_10)} | {f(r.ndcg_10)} | {f(r.recall_100)} | "
        f"{f(r.refused_unanswerable, 2)} | {f(r.refused_answerable, 2)} | {f(r.answer_span, 2)} | "
        f"{f(r.p50_ms, 0)} | {f(r.p95_ms, 0)} |"
    )


HEADER = (
    "| pipeline | hit@1 | MRR@10 | nDCG@10 | R@100 | refused unanswerable | refused answerable "
    "| answer span | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    """Measure every variant on every set; print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.quality")
    parser.add_argument("--scifact", type=Path, help="BEIR SciFact folder (else it is skipped)")
    parser.add_argument("--npl", type=Path, help="NPL's folder, a check set (bench/classic.py)")
    parser.add_argument("--cacm", type=Path, help="CACM's folder, a check set (bench/classic.py)")
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--sets", help="comma-separated set names (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="first N questions of each set")
    args = parser.parse_args()
    # a comma and a space belong to a name ("fused, RRF k=60"); a bare comma separates names
    names = re.split(r",(?! )", args.variants) if args.variants else list(VARIANTS)
    if unknown := [n for n in names if n not in VARIANTS]:
        parser.error(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    checks = check_sets(args.npl, args.cacm) if args.split == "report" else []
    known = all_sets(args.scifact) + checks
    sets = [s for s in known if not args.sets or s.name in args.sets.split(",")]
    print(
        f"split: {args.split}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n"
    )
    for dev in sets:
        questions = dev.split(args.split)[: args.limit or None]
        print(f"### {dev.name} ({args.split}: {len(questions)} questions)\n\n{HEADER}")
        first = docent_for(dev, VARIANTS[names[0]])
        base = Baseline(dev, first.embedder, OUT / "baseline")
        print(row("plain RRF k=60 (baseline)", baseline_report(dev, questions, base)), flush=True)
        for mode in ("bm25", "dense"):
            print(row(f"plain {mode} alone", baseline_report(dev, questions, base, mode)))
        for name in names:
            variant = VARIANTS[name]
            docent = docent_for(dev, variant)
            settings = docent.settings.model_copy(update=variant.search)
            result = evaluate(
                docent.answerer(settings), docent.collection(), questions, beir=dev.beir
            )
            print(row(name, result), flush=True)
            docent.close()
        print()


if __name__ == "__main__":
    main()
