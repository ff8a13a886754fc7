"""Calibrate the sentence-attribution model (rag/models/attribution.json).

    python -m bench.train_attribution

Data: bench/data/attribution.jsonl: answer sentences labelled against a real passage of the
R manuals or the PostgreSQL reference: ``supported`` (faithful paraphrases), and three kinds
that must not pass: ``wrong_number``, ``negated``, ``outside`` (a claim the passage doesn't
make). Each sentence is attributed among five sources: its own passage and four others from
the same split. The model is fitted on the tuning rows; the threshold is the one with the best
balanced accuracy on them; the report rows give the figures printed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.sets import DATA
from rag.attribution import (
    FEATURES,
    MODEL,
    AttributionModel,
    Claim,
    _plain,
    _source,
    attribute,
    unit_features,
)
from rag.chunks import ChunkMeta, ChunkRecord
from rag.embeddings import Embedder, get_embedder
from rag.passage import Passage
from rag.sentences import sentence_spans

DISTRACTORS = 4


def as_passage(text: str, embedder: Embedder, n: int) -> Passage:
    """A passage as ingest would make it: sentence spans and their pooled vectors."""
    spans = sentence_spans(text)
    vectors, sentences = embedder.encode_with_sentences([text], [spans])
    meta = ChunkMeta("p.txt", f"d{n}", 0, sentence_spans=tuple(spans))
    return Passage(ChunkRecord(f"c{n}", text, meta, vectors[0], sentences[0]))


def load(embedder: Embedder) -> tuple[list[dict], dict[str, Passage]]:
    """The rows, and a passage per distinct passage text."""
    rows = [json.loads(line) for line in (DATA / "attribution.jsonl").open() if line.strip()]
    texts = sorted({r["passage"] for r in rows})
    passages = {t: as_passage(t, embedder, i) for i, t in enumerate(texts)}
    return rows, passages


def fit(rows: list[dict], passages: dict[str, Passage], embedder: Embedder) -> AttributionModel:
    """Logistic regression on (sentence, its own passage) pairs of the tuning split."""
    from sklearn.linear_model import LogisticRegression

    tune = [r for r in rows if r["split"] == "tune"]
    vectors = embedder.encode([_plain(r["sentence"]) for r in tune])
    x = np.vstack(
        [
            unit_features(Claim.of(_plain(r["sentence"])), v, _source(passages[r["passage"]]))[0]
            for r, v in zip(tune, vectors, strict=True)
        ]
    )
    y = np.array([r["label"] == "supported" for r in tune])
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(x, y)
    probs = model.predict_proba(x)[:, 1]
    best, cut = -1.0, 0.5
    for t in np.unique(probs):
        accuracy = 0.5 * (np.mean(probs[y] >= t) + np.mean(probs[~y] < t))
        if accuracy > best:
            best, cut = accuracy, float(t)
    return AttributionModel(model.coef_[0], float(model.intercept_[0]), cut)


def measure(
    rows: list[dict], passages: dict[str, Passage], embedder: Embedder, model: AttributionModel
) -> dict[str, float]:
    """On the report rows: share judged supported, per label; and time per 10 sentences."""
    rng = random.Random(7)
    report = [r for r in rows if r["split"] == "report"]
    pool = sorted({r["passage"] for r in report})
    judged: dict[str, list[bool]] = defaultdict(list)
    seconds = []
    for r in report:
        others = rng.sample([p for p in pool if p != r["passage"]], DISTRACTORS)
        sources = [passages[p] for p in [*others, r["passage"]]]
        rng.shuffle(sources)
        start = time.perf_counter()
        [support] = attribute(r["sentence"], sources, embedder, model)
        seconds.append(time.perf_counter() - start)
        own = sources.index(passages[r["passage"]]) + 1
        judged[r["label"]].append(support.supported and support.source == own)
    out = {label: float(np.mean(v)) for label, v in judged.items()}
    out["per_sentence_ms"] = float(np.median(seconds) * 1000)
    return out


def main() -> None:
    """Fit, write the model, print the report figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.train_attribution")
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    embedder = get_embedder()
    rows, passages = load(embedder)
    model = fit(rows, passages, embedder)
    figures = measure(rows, passages, embedder, model)
    counts = defaultdict(int)
    for r in rows:
        counts[f"{r['split']}/{r['label']}"] += 1
    args.out.write_text(
        json.dumps(
            {
                "features": list(FEATURES),
                "weights": model.weights.tolist(),
                "bias": model.bias,
                "threshold": model.threshold,
                "trained_on": {
                    "data": "bench/data/attribution.jsonl, split=tune",
                    "counts": dict(sorted(counts.items())),
                    "report_split": figures,
                    "command": "python -m bench.train_attribution",
                    "date": datetime.date.today().isoformat(),
                },
            },
            indent=1,
        )
        + "\n"
    )
    print("| feature | weight |\n|---|---|")
    for name, w in zip(FEATURES, model.weights, strict=True):
        print(f"| {name} | {w:+.3f} |")
    print(f"\nbias {model.bias:+.3f}, threshold {model.threshold:.3f}\n")
    print("| report rows | judged supported by their own passage |\n|---|---|")
    for label in ("supported", "wrong_number", "negated", "outside"):
        if label in figures:
            print(f"| {label} | {figures[label]:.2f} |")
    print(f"\nmedian time per sentence (5 sources): {figures['per_sentence_ms']:.1f} ms")


if __name__ == "__main__":
    main()
