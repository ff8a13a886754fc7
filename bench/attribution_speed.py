"""How long attribution takes for a whole answer, the way the app runs it after streaming.

    python -m bench.attribution_speed [--sentences 10] [--sources 5] [--repeat 30]

Answers are made of ``--sentences`` report-split sentences of bench/data/attribution.jsonl
(half of them with a citation marker, as small models write them), attributed among
``--sources`` passages (their own and others, with the sentence vectors ingest stores). Each
timing is one ``rag.attribution.attribute`` call: splitting, one batched embedding of the
sentences, features against every source, the model. Prints p50 and p95.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time

from bench.train_attribution import load
from rag.attribution import attribute
from rag.embeddings import get_embedder
from rag.evaluate import percentile


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.attribution_speed")
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    embedder = get_embedder()
    rows, passages = load(embedder)
    report = [r for r in rows if r["split"] == "report"]
    rng = random.Random(11)
    attribute("Warm up.", [next(iter(passages.values()))], embedder)
    seconds = []
    for _ in range(args.repeat):
        picked = rng.sample(report, args.sentences)
        texts = sorted({r["passage"] for r in picked})[: args.sources]
        while len(texts) < args.sources:
            texts.append(rng.choice(sorted(passages)))
        sources = [passages[t] for t in texts]
        answer = " ".join(
            r["sentence"].rstrip(".") + (f" [{i % args.sources + 1}]." if i % 2 else ".")
            for i, r in enumerate(picked)
        )
        start = time.perf_counter()
        supports = attribute(answer, sources, embedder)
        seconds.append((time.perf_counter() - start) * 1000)
        assert len(supports) >= args.sentences // 2, "the answer was not split into sentences"
    seconds.sort()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}\n")
    print("| answer | sources | runs | p50 ms | p95 ms |\n|---|---|---|---|---|")
    p95 = percentile(seconds, 0.95)
    print(
        f"| {args.sentences} sentences | {args.sources} | {len(seconds)} | "
        f"{statistics.median(seconds):.0f} | {p95:.0f} |"
    )


if __name__ == "__main__":
    main()
