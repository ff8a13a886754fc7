"""Try extra inputs for the learned ranker, and restarts of its fit, on the tuning splits.

    python -m bench.ranker_inputs --scifact DIR [--restarts 8]

Each candidate gets :data:`INPUTS` on top of rag/learned.py's features; the ranker is then
refitted with the base features, with each input alone and with all of them, and with
random restarts of coordinate ascent. Every fit is checked leave one set out (fitted on two
sets' tuning splits, measured on the third's) and in-sample (fitted on all three), with the
weights it gave the inputs, so an input that only helps the sets it was fitted on shows. The
shipped model's in-sample figures come first, for comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.sets import all_sets
from bench.train import (
    Question,
    _hit,
    _mrr,
    collect,
    first_relevant,
    fit,
    refusals,
)
from rag.collection import Collection
from rag.learned import FEATURES, LearnedModel
from rag.lexical import tokenize
from rag.passage import Passage

INPUTS = (
    "unit_coverage",  # IDF share of the question held by the unit's candidates together
    "unit_bm25",  # their summed BM25, over the best candidate's
    "unit_count",  # log(1 + how many candidates come from the unit)
    "first_chunk",  # 1 if the candidate is its unit's first chunk among the candidates
    "neighbour_coverage",  # IDF share held by the candidate with its adjacent chunks
)


def unit_inputs(query: str, collection: Collection, passages: list[Passage]) -> np.ndarray:
    """The :data:`INPUTS` of each candidate (a unit is a document's page, or the document)."""
    rows = np.zeros((len(passages), len(INPUTS)))
    words = set(tokenize([query])[0])
    if not passages or not words:
        return rows
    idf = collection.lexical().idf(sorted(words))
    total = sum(idf.values()) or 1.0
    held = [set(t) & words for t in tokenize([p.text for p in passages])]
    best_bm25 = max((p.scores.bm25 or 0.0) for p in passages) or 1.0
    units: dict[tuple[str, int | None], list[int]] = {}
    at = {(p.chunk.doc_id, p.chunk.meta.index): i for i, p in enumerate(passages)}
    for i, p in enumerate(passages):
        units.setdefault((p.chunk.doc_id, p.page), []).append(i)
    for i, p in enumerate(passages):
        members = units[(p.chunk.doc_id, p.page)]
        neighbours = [at.get((p.chunk.doc_id, p.chunk.meta.index + d)) for d in (-1, 1)]
        near = held[i].union(*(held[j] for j in neighbours if j is not None))
        rows[i] = (
            sum(idf[w] for w in set().union(*(held[j] for j in members))) / total,
            sum(passages[j].scores.bm25 or 0.0 for j in members) / best_bm25,
            np.log1p(len(members)),
            float(p.chunk.meta.index == min(passages[j].chunk.meta.index for j in members)),
            sum(idf[w] for w in near) / total,
        )
    return rows


def keep(data: dict[str, list[Question]], inputs: tuple[str, ...]) -> dict[str, list[Question]]:
    """The questions with the base features and only ``inputs`` of the extra columns."""
    cols = [*range(len(FEATURES)), *(len(FEATURES) + INPUTS.index(n) for n in inputs)]
    return {
        name: [Question(q.x[:, cols], q.y, q.answerable, q.small) for q in qs]
        for name, qs in data.items()
    }


def figures(model_data: dict[str, list[Question]], restarts: int) -> tuple[list[str], str]:
    """Leave-one-set-out and in-sample cells (hit@1 / MRR@10, refusals) and the fitted
    weights of the extra inputs."""
    cells = []
    for name in model_data:
        model = fit({k: v for k, v in model_data.items() if k != name}, restarts)
        cells.append(_cell(model, model_data[name]))
    model = fit(model_data, restarts)
    cells += [_cell(model, qs) for qs in model_data.values()]
    extra = model.ranker.weights[len(FEATURES) :]
    return cells, " ".join(f"{w:+.2f}" for w in extra) or "–"


def _cell(model: LearnedModel, questions: list[Question]) -> str:
    ranks = first_relevant(model, questions)
    r = {k: "–" if np.isnan(v) else f"{v:.2f}" for k, v in refusals(model, questions).items()}
    return (
        f"{_hit(ranks):.3f} / {_mrr(ranks):.3f} "
        f"({r['refused_unanswerable']} / {r['refused_answerable']})"
    )


def main() -> None:
    """Collect once, then fit and print one row per trial."""
    parser = argparse.ArgumentParser(prog="python -m bench.ranker_inputs")
    parser.add_argument("--scifact", type=Path, required=True)
    parser.add_argument("--restarts", type=int, default=8)
    args = parser.parse_args()
    data = {dev.name: collect(dev, unit_inputs) for dev in all_sets(args.scifact)}
    names = list(data)
    trials = [("base", (), 0)] + [(n, (n,), 0) for n in INPUTS] + [("all five", INPUTS, 0)]
    trials.append((f"base, {args.restarts} restarts", (), args.restarts))
    print(
        "Cells: hit@1 / MRR@10 (refused unanswerable / refused answerable).\n\n"
        "| ranker | "
        + " | ".join(f"{n} left out" for n in names)
        + " | "
        + " | ".join(f"{n} in-sample" for n in names)
        + " | weights of the inputs |\n|"
        + "---|" * (2 * len(names) + 2)
    )
    shipped = [_cell(LearnedModel.load(), qs) for qs in keep(data, ()).values()]
    print("| shipped model | " + " | ".join(["–"] * len(names) + shipped) + " | – |", flush=True)
    for label, inputs, restarts in trials:
        cells, weights = figures(keep(data, inputs), restarts)
        print(f"| {label} | " + " | ".join(cells) + f" | {weights} |", flush=True)


if __name__ == "__main__":
    main()
