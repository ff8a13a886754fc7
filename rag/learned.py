"""The learned second pass: small linear models over what retrieval already knows.

No cross-encoder ships on the package registries, so Docent's offline second pass is a model
of a few numbers per candidate (:data:`FEATURES`: similarities, the reciprocal ranks that
fusion sums, term coverage), trained on the tuning splits of three development sets
(``python -m bench.train``) and shipped as JSON in ``rag/models/``:

- a **ranker**, fitted on pairs (a relevant candidate against an irrelevant one of the same
  question), whose score orders the candidates; a logistic map of that score gives each
  passage a relevance probability (``scores.rerank``);
- an **answerability** model over the question's best candidates (:data:`ANSWER_FEATURES`),
  whose probability, against a threshold calibrated on the same splits, decides "not in
  your documents".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.lexical import small_share
from rag.passage import Passage

MODEL = Path(__file__).resolve().parent / "models" / "learned.json"
RRF_K = 20  # the reciprocal-rank features use the fusion constant, so fusion is a special case
TOP = 10  # candidates the answerability features look at

FEATURES = (
    "dense",  # cosine of the passage to the query
    "sentence",  # cosine of its best sentence
    "sentence_2",  # mean cosine of its two best sentences (one strong sentence, or two)
    "same_doc",  # the best cosine of another candidate from the same document
    "rr_dense",  # 1 / (k + dense rank); 0 if dense missed it
    "rr_bm25",  # 1 / (k + BM25 rank); 0 if BM25 missed it
    "bm25",  # BM25 score over the best candidate's
    "coverage",  # share of the query's IDF mass that the passage holds
    "title",  # likewise, in its heading path and file name
    "length",  # log of its length in characters
    # Coverage of its text with its own heading: read by answerability (a question that
    # names a section is answered by it); the ranker was fitted before it (weight 0).
    "section",
)
ANSWER_FEATURES = (
    "best",  # the best candidate's relevance probability
    "coverage",  # the best term coverage (with each one's own heading) among the top candidates
    "title",  # the best heading coverage among them
    "sentence",  # the best sentence cosine among them
    # How small the collection is (rag.lexical.small_share), alone and times each of the
    # above: over one short document coverage and headings mean something else than over a
    # manual, so the model learns each regime's weights and blends them by size.
    "small",
    "small_best",
    "small_coverage",
    "small_title",
    "small_sentence",
)


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: ``(x - mean) / scale @ weights + bias``."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def from_dict(cls, data: dict[str, list[float] | float]) -> Linear:
        """Read the JSON form."""
        return cls(
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["weights"], dtype=np.float64),
            float(data["bias"]),  # type: ignore[arg-type]
        )

    def to_dict(self) -> dict[str, list[float] | float]:
        """The JSON form."""
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
        }

    def score(self, x: np.ndarray) -> np.ndarray:
        """The linear score of each row."""
        return ((x - self.mean) / self.scale) @ self.weights + self.bias


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z)."""
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class LearnedModel:
    """The ranker, its probability map, the answerability model and its threshold."""

    ranker: Linear
    calibration: tuple[float, float]  # P(relevant) = sigmoid(a * score + b)
    answerability: Linear
    threshold: float  # P(answerable) below this: "not in your documents"

    @classmethod
    def load(cls, path: Path = MODEL) -> LearnedModel:
        """Read a model written by ``python -m bench.train``."""
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES or tuple(data["answer_features"]) != ANSWER_FEATURES:
            raise ValueError(f"{path} was trained on other features: retrain it")
        a, b = data["calibration"]
        return cls(
            Linear.from_dict(data["ranker"]),
            (float(a), float(b)),
            Linear.from_dict(data["answerability"]),
            float(data["threshold"]),
        )

    def relevance(self, scores: np.ndarray) -> np.ndarray:
        """P(relevant) for ranker scores."""
        a, b = self.calibration
        return sigmoid(a * scores + b)

    def answerable(self, x: np.ndarray) -> float:
        """P(the question is answered by the collection) from :func:`answer_features`."""
        return float(sigmoid(self.answerability.score(x[None, :]))[0])


def features(query_vector: np.ndarray, passages: list[Passage]) -> np.ndarray:
    """The :data:`FEATURES` of each candidate (one row per passage)."""
    rows = np.zeros((len(passages), len(FEATURES)), dtype=np.float64)
    if not passages:
        return rows
    q = np.asarray(query_vector, dtype=np.float32)
    best_bm25 = max((p.scores.bm25 or 0.0 for p in passages), default=0.0) or 1.0
    dense_all = np.array([float(p.vector @ q) for p in passages])
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_doc.setdefault(p.chunk.doc_id, []).append(i)
    for i, p in enumerate(passages):
        s = p.scores
        dense = float(dense_all[i])
        sentences = p.chunk.sentence_vectors
        sims = np.sort(sentences.astype(np.float32) @ q)[::-1] if sentences is not None else []
        sentence = float(sims[0]) if len(sims) else dense
        sentence_2 = float(np.mean(sims[:2])) if len(sims) else dense
        others = [j for j in by_doc[p.chunk.doc_id] if j != i]
        rows[i] = (
            dense,
            sentence,
            sentence_2,
            float(dense_all[others].max()) if others else 0.0,
            1.0 / (RRF_K + s.dense_rank) if s.dense_rank else 0.0,
            1.0 / (RRF_K + s.bm25_rank) if s.bm25_rank else 0.0,
            (s.bm25 or 0.0) / best_bm25,
            s.coverage or 0.0,
            s.title or 0.0,
            math.log(1 + len(p.text)),
            s.section or 0.0,
        )
    return rows


def answer_features(rows: np.ndarray, relevance: np.ndarray, small: float) -> np.ndarray:
    """The :data:`ANSWER_FEATURES` of a question, from its candidates' features (rows in the
    learned order), their relevance probabilities and how small the collection is."""
    if not len(rows):
        return np.zeros(len(ANSWER_FEATURES))
    top = rows[:TOP]
    index = {name: i for i, name in enumerate(FEATURES)}
    base = np.array(
        [
            float(relevance.max()),
            float(top[:, index["section"]].max()),
            float(top[:, index["title"]].max()),
            float(top[:, index["sentence"]].max()),
        ]
    )
    return np.concatenate([base, [small], small * base])


def smallness(passages: list[Passage]) -> float:
    """:func:`rag.lexical.small_share` of the collection the passages were found in (a
    large collection's 0 when retrieval did not say)."""
    chunks = passages[0].scores.collection_chunks if passages else None
    return 0.0 if chunks is None else small_share(chunks)


@lru_cache(maxsize=2)
def _model(path: str) -> LearnedModel:
    return LearnedModel.load(Path(path))


class LearnedReranker:
    """Orders candidates by the learned ranker and judges answerability."""

    name = "learned"

    def __init__(self, model: LearnedModel | None = None) -> None:
        self.model = model or _model(str(MODEL))
        self.threshold = self.model.threshold

    def rerank(
        self, query: str, query_vector: np.ndarray, passages: list[Passage]
    ) -> list[Passage]:
        """Passages by ranker score, best first (ties keep the fused order)."""
        if not passages:
            return passages
        rows = features(query_vector, passages)
        scores = self.model.ranker.score(rows)
        order = sorted(range(len(passages)), key=lambda i: -scores[i])
        for p, r in zip(passages, self.model.relevance(scores), strict=True):
            p.scores.rerank = float(r)
        return [passages[i] for i in order]

    def confidence(self, query_vector: np.ndarray, passages: list[Passage]) -> float:
        """P(the question is answered) from reranked passages (compared with
        :attr:`threshold`)."""
        if not passages:
            return 0.0
        top = passages[:TOP]
        return self._answerable(query_vector, top, np.array([p.scores.rerank or 0.0 for p in top]))

    def answerability(self, query_vector: np.ndarray, passages: list[Passage]) -> float:
        """P(the question is answered) from candidates in any order, without touching their
        scores: what :meth:`confidence` gives after :meth:`rerank`."""
        if not passages:
            return 0.0
        scores = self.model.ranker.score(features(query_vector, passages))
        order = np.argsort(-scores, kind="stable")[:TOP]
        top = [passages[i] for i in order]
        return self._answerable(query_vector, top, self.model.relevance(scores[order]))

    def _answerable(
        self, query_vector: np.ndarray, top: list[Passage], relevance: np.ndarray
    ) -> float:
        """P(answered) from the best candidates, in the learned order, and their relevance."""
        rows = features(query_vector, top)
        return self.model.answerable(answer_features(rows, relevance, smallness(top)))


@lru_cache(maxsize=1)
def _judge() -> LearnedReranker:
    return LearnedReranker()


def answerability(query_vector: np.ndarray, passages: list[Passage]) -> float:
    """The refusal check of the offline backends that do not learn one (``none``, ``maxsim``,
    ``llm``): the learned answerability model over their candidates, whatever their order.
    A cosine alone refused short questions over small documents whose answer it had found."""
    return _judge().answerability(query_vector, passages)


def answerability_threshold() -> float:
    """Below this, :func:`answerability` means "not in your documents"."""
    return _judge().threshold
