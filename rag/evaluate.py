"""Evaluation as a feature: how well a collection answers a set of judged questions
(read by :mod:`rag.questions`).

A passage counts for the unit it comes from: the page of a paginated file, else the file (or
the BEIR document). Units rank by their best passage; every metric is over units.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

from rag.answer import Answerer
from rag.collection import Collection
from rag.passage import Passage
from rag.questions import Question, unit_key

DEPTH = 1_000  # passages asked for: every fused candidate, so 100 distinct units can fill


def passage_unit(passage: Passage, beir: bool) -> str:
    """The unit of a retrieved passage (a BEIR document id is the file name's stem)."""
    if beir:
        return PurePath(passage.source).stem
    return unit_key(passage.source, passage.page)


def ranked_units(passages: Iterable[Passage], beir: bool) -> list[str]:
    """Distinct units in the order of their best passage."""
    return list(dict.fromkeys(passage_unit(p, beir) for p in passages))


# -- metrics on one ranking ---------------------------------------------------------------------
def hit_at(ranked: list[str], gold: dict[str, int], k: int) -> float:
    """1 if a relevant unit is in the top ``k``."""
    return float(any(gold.get(u, 0) > 0 for u in ranked[:k]))


def mrr_at(ranked: list[str], gold: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant unit within the top ``k``."""
    for rank, u in enumerate(ranked[:k], start=1):
        if gold.get(u, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: list[str], gold: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (the BEIR / pytrec_eval definition)."""
    dcg = sum(gold.get(u, 0) / math.log2(i + 2) for i, u in enumerate(ranked[:k]))
    ideal = sorted(gold.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], gold: dict[str, int], k: int = 100) -> float:
    """Share of the relevant units in the top ``k``."""
    relevant = {u for u, g in gold.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def missing_documents(questions: list[Question], collection: Collection, beir: bool) -> list[str]:
    """The documents the questions' judgements name that the collection does not hold (a
    question about them can only miss): file names, or BEIR document ids."""
    held = {PurePath(d.name).stem if beir else d.name for d in collection.documents()}
    named = {unit if beir else _document_of(unit) for q in questions for unit in q.gold}
    return sorted(named - held)


def missing_note(missing: list[str], collection: str) -> str:
    """What to tell the user about :func:`missing_documents`."""
    names = ", ".join(missing[:5]) + (f" and {len(missing) - 5:,} more" if len(missing) > 5 else "")
    return (
        f"The questions name {len(missing):,} document(s) that collection {collection!r} does "
        f"not hold ({names}); questions about them count as misses"
    )


def _document_of(unit: str) -> str:
    """The file of a ``file#page`` unit (:func:`rag.questions.unit_key`)."""
    name, _, page = unit.rpartition("#")
    return name if name and page.isdigit() else unit


def normalise(text: str) -> str:
    """The text as read, for span checks: lower case, one space, straight quotes, no
    Markdown escapes, no quote marks starting its lines and no code fences (a quote's line
    break or code block is a break to the reader, not a "> " or "```" inside the words)."""
    text = _FENCES.sub("", _QUOTE_MARKS.sub("", text))
    text = text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.replace("\\", "").lower().split())


_QUOTE_MARKS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_FENCES = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[^`\n]*$", re.MULTILINE)  # a code block's edges


def contains_span(answer: str, spans: list[str]) -> bool:
    """Whether the answer holds one of the gold spans."""
    shown = normalise(answer)
    return any(normalise(s) in shown for s in spans if s)


# -- running a set ------------------------------------------------------------------------------
@dataclass
class EvalReport:
    """A set's figures; ``None`` where the set has nothing to measure (no answers, say)."""

    questions: int
    answerable: int
    unanswerable: int
    k: int
    hit_1: float | None = None
    hit_k: float | None = None
    mrr_10: float | None = None
    ndcg_10: float | None = None
    recall_100: float | None = None
    refused_unanswerable: float | None = None  # "not in your documents" where right
    refused_answerable: float | None = None  # ...and where wrong
    answer_span: float | None = None  # the gold span in the answer
    p50_ms: float | None = None  # search latency
    p95_ms: float | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        """JSON form (per-question details only if asked)."""
        data = asdict(self)
        if not details:
            data.pop("details")
        return data

    def table(self) -> str:
        """A Markdown table of the figures."""
        rows = [
            (
                "questions (answerable / not)",
                f"{self.questions} ({self.answerable} / {self.unanswerable})",
            ),
            ("hit@1", _f(self.hit_1)),
            (f"hit@{self.k}", _f(self.hit_k)),
            ("MRR@10", _f(self.mrr_10)),
            ("nDCG@10", _f(self.ndcg_10)),
            ("Recall@100", _f(self.recall_100)),
            ("refused, unanswerable", _f(self.refused_unanswerable)),
            ("refused, answerable", _f(self.refused_answerable)),
            ("answer span in answer", _f(self.answer_span)),
            ("search p50 / p95 ms", f"{_f(self.p50_ms, 0)} / {_f(self.p95_ms, 0)}"),
        ]
        return "| metric | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def evaluate(
    answerer: Answerer,
    collection: Collection,
    questions: list[Question],
    k: int = 5,
    beir: bool = False,
    answers: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Search (and, for QA with answers or unanswerable questions, ask) every question.

    Args:
        answerer: the pipeline to measure (its reranker and settings).
        collection: where the documents are.
        questions: judged questions.
        k: the cut-off of ``hit@k`` (and the passages an answer is given).
        beir: units are BEIR document ids (file name stems), not pages.
        answers: also ask each QA question, for refusal and the answer-span check.
        progress: called with (questions done, questions in all) after each question.
    """
    report = EvalReport(
        len(questions),
        sum(q.answerable for q in questions),
        sum(not q.answerable for q in questions),
        k,
    )
    hits1, hitsk, mrrs, ndcgs, recalls, latency = [], [], [], [], [], []
    refused: dict[bool, list[bool]] = {True: [], False: []}
    spans: list[bool] = []
    for q in questions:
        start = time.perf_counter()
        found = answerer.search(q.text, collection, DEPTH)
        latency.append((time.perf_counter() - start) * 1000)
        ranked = ranked_units(found.passages, beir)
        row: dict[str, Any] = {"id": q.id, "question": q.text, "top": ranked[:5]}
        if q.answerable:
            hits1.append(hit_at(ranked, q.gold, 1))
            hitsk.append(hit_at(ranked, q.gold, k))
            mrrs.append(mrr_at(ranked, q.gold, 10))
            ndcgs.append(ndcg_at(ranked, q.gold, 10))
            recalls.append(recall_at(ranked, q.gold, 100))
            row |= {"hit_1": hits1[-1], "mrr_10": mrrs[-1], "ndcg_10": ndcgs[-1]}
        if answers and not beir:
            stream = answerer.ask(q.text, collection, k=k)
            for _ in stream:
                pass
            result = stream.result
            refused[q.answerable].append(result.mode == "not-found")
            row |= {"mode": result.mode, "answer": result.answer}
            if q.answers:
                spans.append(result.mode != "not-found" and contains_span(result.answer, q.answers))
                row["span"] = spans[-1]
        report.details.append(row)
        if progress is not None:
            progress(len(report.details), len(questions))
    report.hit_1, report.hit_k, report.mrr_10 = _mean(hits1), _mean(hitsk), _mean(mrrs)
    report.ndcg_10, report.recall_100 = _mean(ndcgs), _mean(recalls)
    report.refused_unanswerable = _mean([float(x) for x in refused[False]])
    report.refused_answerable = _mean([float(x) for x in refused[True]])
    report.answer_span = _mean([float(x) for x in spans])
    if latency:
        ordered = sorted(latency)
        report.p50_ms = statistics.median(ordered)
        report.p95_ms = percentile(ordered, 0.95)
    return report


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (``0 <= q < 1``) of ``values``: the value at position
    ``int(n * q)`` once sorted, as every latency figure in Docent and its benchmarks reports."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
