"""Train the learned second pass (rag/models/learned.json) on the tuning splits only.

    python -m bench.train --scifact DIR

For every tuning question of every set, the fused candidates (Docent's first stage) are
described by their features (rag/learned.py) and labelled 1 when they come from a gold unit
(document or page). Then:

1. the **ranker**: linear weights found by coordinate ascent on MRR@10 over each question's
   fused top 50, starting from the weights that reproduce fusion, each set weighing the same;
2. its **calibration**: P(relevant) as a logistic function of the ranker's score;
3. **answerability**: a logistic regression over each question's best candidates
   (rag/learned.py ANSWER_FEATURES), answerable or not; its threshold is the highest that
   keeps false refusals at or under 5% on every set's tuning split.

A leave-one-set-out check prints how the ranker does on a set it was not fitted on.

    python -m bench.train --scifact DIR --answerability-only

keeps the shipped ranker and its calibration and refits answerability and its threshold
only, on the same tuning splits and on small collections built from the QA tuning splits
(bench/small.py: a few pages or one HTML page each, asked their own question, one from
elsewhere and an unanswerable one), so "not in your documents" holds for a user's first
short upload as well as for a manual.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.quality import VARIANTS, docent_for
from bench.sets import DevSet, all_sets
from bench.small import small_collections
from rag.collection import Collection
from rag.config import Settings
from rag.evaluate import passage_unit
from rag.learned import (
    ANSWER_FEATURES,
    FEATURES,
    MODEL,
    TOP,
    LearnedModel,
    Linear,
    answer_features,
    features,
    smallness,
)
from rag.passage import Passage
from rag.system import Docent

MAX_FALSE_REFUSAL = 0.05
TOP_N = 50  # the ranker is fitted on each question's fused top 50 (where reordering matters)
STEPS = (-1.0, -0.5, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.5, 1.0)  # tried on each weight
ROUNDS = 30
MIN_GAIN = 0.001  # an improvement smaller than this is noise, not a reason to move
SEED = 20261128
# the shipped model was fitted on the RRF order's top 50 (before convex fusion shipped)
FIRST_STAGE = {"reranker": "none", "fusion": "rrf"}
TUNING = "tuning only: SciFact train qrels, rexts-tune.jsonl, pg-tune.jsonl"
SMALL_SETS = ("rman", "pgsql")  # the QA sets bench.small builds small collections from
# extra candidate inputs under trial: (question, collection, passages) -> one row per passage
ExtraInputs = Callable[[str, Collection, list[Passage]], np.ndarray]


@dataclass
class Question:
    """A tuning question's candidates: features (fused order), labels, answerable."""

    x: np.ndarray
    y: np.ndarray
    answerable: bool
    small: float  # rag.lexical.small_share of its collection


def collect(dev: DevSet, extra: ExtraInputs | None = None) -> list[Question]:
    """The tuning questions of a set, retrieved by Docent's first stage; ``extra`` appends
    columns under trial to each candidate's features."""
    docent = docent_for(dev, VARIANTS["default"])
    answerer = docent.answerer(docent.settings.model_copy(update=FIRST_STAGE))
    collection = docent.collection()
    out = []
    for q in dev.tune():
        found = answerer.search(q.text, collection, 1000)
        labels = [q.gold.get(passage_unit(p, dev.beir), 0) > 0 for p in found.passages]
        x = features(found.query_vector, found.passages)
        if extra is not None:
            x = np.hstack([x, extra(q.text, collection, found.passages)])
        out.append(Question(x, np.array(labels), q.answerable, smallness(found.passages)))
    docent.close()
    return out


def collect_small(name: str) -> list[Question]:
    """The questions asked of the small collections of a set's tuning split (bench.small),
    with their candidates' features; they train answerability only, so no labels."""
    with tempfile.TemporaryDirectory() as tmp:
        docent = Docent(Settings(data_dir=Path(tmp), collection="small", _env_file=None))
        answerer = docent.answerer(docent.settings.model_copy(update=FIRST_STAGE))
        out = []
        for collection, asked in small_collections(docent, name, "tune"):
            for q in asked:
                found = answerer.search(q.text, collection, 1000)
                x = features(found.query_vector, found.passages)
                no_labels = np.zeros(len(x), dtype=bool)
                out.append(Question(x, no_labels, q.answerable, smallness(found.passages)))
        docent.close()
    return out


def fit_ranker(data: dict[str, list[Question]], restarts: int = 0) -> Linear:
    """Coordinate ascent on MRR@10 (the mean over sets, each weighing the same), from the
    weights that reproduce reciprocal rank fusion, so a change is kept only if it ranks the
    tuning questions better than fusion does (Metzler & Croft's method for linear rankers).

    Columns after :data:`FEATURES` are extra inputs under trial (bench.ranker_inputs); they
    start at weight 0. ``restarts`` adds that many random starts around fusion's weights and
    keeps the best fit (measured: it overfits, so the shipped model uses none).
    """
    allx = np.vstack([q.x for qs in data.values() for q in qs if len(q.x)])
    mean, scale = allx.mean(axis=0), allx.std(axis=0) + 1e-9
    sets = {
        name: [((q.x[:TOP_N] - mean) / scale, q.y[:TOP_N]) for q in qs if q.y[:TOP_N].any()]
        for name, qs in data.items()
    }
    start = np.zeros(allx.shape[1])
    for name in ("rr_dense", "rr_bm25"):  # in standardised units, fusion is x * scale
        start[FEATURES.index(name)] = scale[FEATURES.index(name)]
    start /= np.linalg.norm(start)
    rng = np.random.default_rng(SEED)
    starts = [start] + [start + rng.normal(0, 0.5, len(start)) for _ in range(restarts)]
    weights, _ = max((_ascend(s, sets) for s in starts), key=lambda fitted: fitted[1])
    return Linear(mean, scale, weights, 0.0)


def _ascend(
    weights: np.ndarray, sets: dict[str, list[tuple[np.ndarray, np.ndarray]]]
) -> tuple[np.ndarray, float]:
    """Coordinate ascent from ``weights``: the fitted weights and their objective."""
    weights = weights / np.linalg.norm(weights)
    best = _objective(weights, sets)
    for _ in range(ROUNDS):
        improved = False
        for f in range(len(weights)):
            for step in STEPS:
                trial = weights.copy()
                trial[f] += step
                value = _objective(trial, sets)
                if value > best + MIN_GAIN:
                    weights, best, improved = trial / np.linalg.norm(trial), value, True
        if not improved:
            break
    return weights, best


def _objective(weights: np.ndarray, sets: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> float:
    """Mean over sets of MRR@10 of the first relevant candidate."""
    means = []
    for questions in sets.values():
        rr = []
        for z, y in questions:
            first = int(np.argmax(y[np.argsort(-(z @ weights), kind="stable")])) + 1
            rr.append(1.0 / first if first <= 10 else 0.0)
        means.append(np.mean(rr))
    return float(np.mean(means))


def fit_calibration(ranker: Linear, data: dict[str, list[Question]]) -> tuple[float, float]:
    """P(relevant | score), fitted on every candidate (each set weighing the same)."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, ws = [], [], []
    for questions in data.values():
        s = np.concatenate([ranker.score(q.x) for q in questions if len(q.x)])
        y = np.concatenate([q.y for q in questions if len(q.x)])
        xs.append(s)
        ys.append(y)
        ws.append(np.full(len(y), 1.0 / len(y)))
    s, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    model = LogisticRegression(C=100.0, max_iter=2000).fit(s[:, None], y, sample_weight=w * len(w))
    return float(model.coef_[0][0]), float(model.intercept_[0])


def question_features(model: LearnedModel, q: Question) -> np.ndarray:
    """The answerability features of a question, its candidates in the ranker's order."""
    if not len(q.x):
        return np.zeros(len(ANSWER_FEATURES))
    scores = model.ranker.score(q.x)
    order = np.argsort(-scores, kind="stable")[:TOP]
    return answer_features(q.x[order], model.relevance(scores[order]), q.small)


def fit_answerability(model: LearnedModel, data: dict[str, list[Question]]) -> Linear:
    """P(answerable): each set, and within it each class, weighing the same."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, ws = [], [], []
    for questions in data.values():
        x = np.vstack([question_features(model, q) for q in questions])
        y = np.array([q.answerable for q in questions])
        for label in (True, False):
            if (y == label).any():
                xs.append(x[y == label])
                ys.append(y[y == label])
                ws.append(np.full(int((y == label).sum()), 1.0 / int((y == label).sum())))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    fitted = LogisticRegression(C=1.0, max_iter=2000)
    fitted.fit((x - mean) / scale, y, sample_weight=w * len(w))
    return Linear(mean, scale, fitted.coef_[0], float(fitted.intercept_[0]))


def fit(data: dict[str, list[Question]], restarts: int = 0) -> LearnedModel:
    """All three parts, threshold included."""
    ranker = fit_ranker(data, restarts)
    model = LearnedModel(ranker, fit_calibration(ranker, data), ranker, 0.0)
    model = LearnedModel(ranker, model.calibration, fit_answerability(model, data), 0.0)
    return LearnedModel(ranker, model.calibration, model.answerability, threshold(model, data))


def refit_answerability(model: LearnedModel, data: dict[str, list[Question]]) -> LearnedModel:
    """``model``'s ranker and calibration, with answerability and its threshold fitted anew."""
    answerability = fit_answerability(model, data)
    refit = LearnedModel(model.ranker, model.calibration, answerability, 0.0)
    return LearnedModel(model.ranker, model.calibration, answerability, threshold(refit, data))


def shipped_ranker(path: Path = MODEL) -> LearnedModel:
    """The shipped ranker and calibration (its answerability may predate today's features)."""
    data = json.loads(path.read_text())
    if tuple(data["features"]) != FEATURES:
        raise SystemExit(f"{path}'s ranker was trained on other features: retrain it whole")
    ranker = Linear.from_dict(data["ranker"])
    a, b = data["calibration"]
    n = len(ANSWER_FEATURES)  # answerability is refitted: a neutral one stands in until then
    unfitted = Linear(np.zeros(n), np.ones(n), np.zeros(n), 0.0)
    return LearnedModel(ranker, (float(a), float(b)), unfitted, 0.0)


def check_answerability(model: LearnedModel, data: dict[str, list[Question]]) -> None:
    """Refusals on each set, answerability fitted with and without that set."""
    print(
        "| set | questions | refused unanswerable (left out) | refused answerable (left out) "
        "| refused unanswerable (fitted) | refused answerable (fitted) |\n|---|---|---|---|---|---|"
    )
    fitted = refit_answerability(model, data)
    for name, questions in data.items():
        left = refit_answerability(model, {k: v for k, v in data.items() if k != name})
        a, b = refusals(left, questions), refusals(fitted, questions)
        print(
            f"| {name} | {len(questions)} | {a['refused_unanswerable']:.2f} "
            f"| {a['refused_answerable']:.2f} | {b['refused_unanswerable']:.2f} "
            f"| {b['refused_answerable']:.2f} |"
        )
    print()


def confidences(model: LearnedModel, questions: list[Question]) -> list[tuple[float, bool]]:
    """(P(answerable), answerable) per question."""
    return [(model.answerable(question_features(model, q)), q.answerable) for q in questions]


def threshold(model: LearnedModel, data: dict[str, list[Question]]) -> float:
    """The highest threshold with false refusals <= 5% on every set."""
    rows = {name: confidences(model, qs) for name, qs in data.items()}
    chosen = 0.0
    for t in sorted({c for r in rows.values() for c, _ in r}):
        if any(np.mean([c < t for c, a in r if a]) > MAX_FALSE_REFUSAL for r in rows.values()):
            break
        chosen = t
    return chosen


def refusals(model: LearnedModel, questions: list[Question]) -> dict[str, float]:
    """Refusal rates at the model's threshold."""
    rows = confidences(model, questions)
    yes = [c < model.threshold for c, a in rows if a]
    no = [c < model.threshold for c, a in rows if not a]
    return {
        "refused_answerable": float(np.mean(yes)) if yes else 0.0,
        "refused_unanswerable": float(np.mean(no)) if no else float("nan"),
    }


def cross_check(data: dict[str, list[Question]]) -> None:
    """Leave one set out: fit on the others, rank and refuse on the left-out set."""
    print(
        "| left out | questions | fused hit@1 | learned hit@1 | fused MRR@10 | learned MRR@10 "
        "| refused unanswerable | refused answerable |\n|---|---|---|---|---|---|---|---|"
    )
    for name in data:
        model = fit({k: v for k, v in data.items() if k != name})
        fused, learned = first_relevant(None, data[name]), first_relevant(model, data[name])
        r = refusals(model, data[name])
        print(
            f"| {name} | {len(fused)} | {_hit(fused):.3f} | {_hit(learned):.3f} | "
            f"{_mrr(fused):.3f} | {_mrr(learned):.3f} "
            f"| {r['refused_unanswerable']:.2f} | {r['refused_answerable']:.2f} |"
        )
    print()


def first_relevant(model: LearnedModel | None, questions: list[Question]) -> list[int]:
    """The rank of the first relevant candidate of each question that has one, in the
    model's order (``None``: the fused order)."""
    ranks = []
    for q in questions:
        if q.y.any():
            order = np.argsort(-model.ranker.score(q.x), kind="stable") if model else slice(None)
            ranks.append(int(np.argmax(q.y[order])) + 1)
    return ranks


def _hit(ranks: list[int]) -> float:
    return float(np.mean([r == 1 for r in ranks]))


def _mrr(ranks: list[int]) -> float:
    return float(np.mean([1 / r if r <= 10 else 0.0 for r in ranks]))


def main() -> None:
    """Collect, check, fit, write the model and print its weights."""
    parser = argparse.ArgumentParser(prog="python -m bench.train")
    parser.add_argument("--scifact", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument(
        "--answerability-only",
        action="store_true",
        help="keep the shipped ranker; refit answerability with small collections too",
    )
    args = parser.parse_args()
    data = {dev.name: collect(dev) for dev in all_sets(args.scifact)}
    if args.answerability_only:
        data |= {f"{name}-small": collect_small(name) for name in SMALL_SETS}
        check_answerability(shipped_ranker(), data)
        model = refit_answerability(shipped_ranker(), data)
        splits = TUNING + "; small collections from rexts-tune.jsonl and pg-tune.jsonl"
    else:
        cross_check(data)
        model = fit(data)
        splits = TUNING
    command = "python -m bench.train --scifact DIR" + (
        " --answerability-only" if args.answerability_only else ""
    )
    write(model, data, args.out, splits, command)
    print("| ranker feature | weight (standardised) |\n|---|---|")
    for name, weight in zip(FEATURES, model.ranker.weights, strict=True):
        print(f"| {name} | {weight:+.3f} |")
    print("\n| answerability feature | weight (standardised) |\n|---|---|")
    for name, weight in zip(ANSWER_FEATURES, model.answerability.weights, strict=True):
        print(f"| {name} | {weight:+.3f} |")
    refused = {name: refusals(model, qs) for name, qs in data.items()}
    print(f"\nthreshold {model.threshold:.3f}; tuning refusals: {json.dumps(refused)}")


def write(
    model: LearnedModel, data: dict[str, list[Question]], out: Path, splits: str, command: str
) -> None:
    """The model as JSON, with what it was trained on."""
    import sklearn

    # a set with no unanswerable question has no refusal rate: null, not NaN (invalid JSON)
    summary = {
        name: {k: None if np.isnan(v) else v for k, v in refusals(model, qs).items()}
        for name, qs in data.items()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "features": list(FEATURES),
                "answer_features": list(ANSWER_FEATURES),
                "ranker": model.ranker.to_dict(),
                "calibration": list(model.calibration),
                "answerability": model.answerability.to_dict(),
                "threshold": model.threshold,
                "trained_on": {
                    "splits": splits,
                    "questions": {name: len(qs) for name, qs in data.items()},
                    "tuning_refusals": summary,
                    "command": command,
                    "date": datetime.date.today().isoformat(),
                    "scikit_learn": sklearn.__version__,
                    "machine": f"{platform.machine()}, Python {platform.python_version()}",
                },
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
