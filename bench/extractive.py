"""Tune the extractive answer's sentence choice on the tuning splits (spans in the answer).

    python -m bench.extractive [--split tune|report] [--reranker learned]

For every answerable tuning question of the QA sets (R manuals, PostgreSQL), the top passages
are retrieved once; then each weighting of rag.extractive is tried, and the share of answers
holding the gold span (and their mean length) is printed, best first. Pass ``--split report``
only to report the chosen weights, never to choose them.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from bench.quality import VARIANTS, docent_for
from bench.sets import pg, rman
from rag.evaluate import contains_span
from rag.extractive import WEIGHTS, Weights, extractive_answer

GRID = {
    "words": (0.0, 0.15, 0.3, 0.5),
    "source": (0.0, 0.05, 0.1, 0.2),
    "floor": (0.7, 0.8, 0.9),
    "novelty": (0.0, 0.15, 0.3, 0.5),
}


def main() -> None:
    """Retrieve once, try every weighting, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.extractive")
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--reranker", default="auto")
    args = parser.parse_args()
    cases = []
    for dev in (rman(), pg()):
        docent = docent_for(dev, VARIANTS["default"])
        answerer = docent.answerer(docent.settings.model_copy(update={"reranker": args.reranker}))
        collection = docent.collection()
        for q in dev.split(args.split):
            if q.answers:
                found = answerer.search(q.text, collection, docent.settings.top_k)
                cases.append((dev.name, q, found, collection.load))
    grid = [Weights(*w) for w in itertools.product(*GRID.values())]
    if args.split == "report":
        grid = [WEIGHTS]
    rows = []
    for weights in grid:
        hits: dict[str, list[bool]] = {}
        chars = []
        for name, q, found, load in cases:
            answer = extractive_answer(
                found.query, found.query_vector, found.passages, weights, load
            )
            hits.setdefault(name, []).append(contains_span(answer, q.answers))
            chars.append(len(answer))
        per_set = {k: float(np.mean(v)) for k, v in hits.items()}
        rows.append(
            (float(np.mean(list(per_set.values()))), per_set, float(np.mean(chars)), weights)
        )
    rows.sort(key=lambda r: -r[0])
    print(f"{args.split}: {len(cases)} answerable questions\n")
    print("| words | source | floor | novelty | mean span | rman | pgsql | mean chars |")
    print("|---|---|---|---|---|---|---|---|")
    for mean, per_set, chars, w in rows[:12]:
        mark = " (default)" if w == WEIGHTS else ""
        print(
            f"| {w.words} | {w.source} | {w.floor} | {w.novelty}{mark} | {mean:.3f} | "
            f"{per_set['rman']:.3f} | {per_set['pgsql']:.3f} | {chars:.0f} |"
        )


if __name__ == "__main__":
    main()
