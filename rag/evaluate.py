"""Evaluation as a feature: how well a collection answers a set of judged questions.

Two kinds of question files:

- **QA lines** (one JSON object a line): ``question``, ``answer`` (a short span that should
  appear in the answer; ``null`` = the documents don't answer it), ``doc`` (the file that
  answers it), ``pages`` (1-based pages of that file; ``null`` for formats without pages),
  optional ``answer_aliases`` and ``id``.
- **BEIR**: ``queries.jsonl`` (``_id``, ``text``) with a ``qrels.tsv`` (``query-id``,
  ``corpus-id``, ``score``); a document's id is its file name without the extension.

A passage counts for the unit it comes from: the page of a paginated file, else the file (or
the BEIR document). Units rank by their best passage; every metric is over units.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Any

from rag.answer import Answerer
from rag.collection import Collection
from rag.passage import Passage

DEPTH = 1_000  # passages asked for: every fused candidate, so 100 distinct units can fill


@dataclass
class Question:
    """One judged question."""

    id: str
    text: str
    gold: dict[str, int]  # unit -> relevance grade (empty: the documents don't answer it)
    answers: list[str] = field(default_factory=list)  # spans, for the answer check

    @property
    def answerable(self) -> bool:
        """Whether the documents answer it."""
        return bool(self.gold)


class QuestionFileError(ValueError):
    """A question file that cannot be read: the message names the file and the line."""


def read_qa(path: Path) -> list[Question]:
    """Questions from a QA-lines file (see the module docstring)."""
    return parse_qa(path.read_text(encoding="utf-8"), path.name)


def parse_qa(text: str, name: str) -> list[Question]:
    """Questions from the text of a QA-lines file called ``name`` (named in errors).

    Raises:
        QuestionFileError: a line that is not a JSON object with a ``question``, or whose
            ``pages`` is not a list of page numbers.
    """
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = _json_line(line, name, n)
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise QuestionFileError(f'{name} line {n}: no "question" text')
        answer = row.get("answer")
        pages = row.get("pages")
        if pages is not None and not (
            isinstance(pages, list) and all(isinstance(p, int) for p in pages)
        ):
            raise QuestionFileError(f'{name} line {n}: "pages" must be a list of page numbers')
        gold: dict[str, int] = {}
        if answer is not None and row.get("doc"):
            doc = str(row["doc"])
            gold = {unit_key(doc, p): 1 for p in pages} if pages else {doc: 1}
        spans = [] if answer is None else [str(answer), *map(str, row.get("answer_aliases", []))]
        out.append(Question(str(row.get("id", n)), question, gold, spans))
    if not out:
        raise QuestionFileError(f"{name}: no questions")
    return out


def read_beir(queries: Path, qrels: Path) -> list[Question]:
    """The judged queries of a BEIR set (queries without judgments are left out)."""
    return parse_beir(
        queries.read_text(encoding="utf-8"),
        qrels.read_text(encoding="utf-8"),
        (queries.name, qrels.name),
    )


def parse_beir(queries: str, qrels: str, names: tuple[str, str]) -> list[Question]:
    """The judged queries of a BEIR set from the texts of its queries and qrels files.

    A negative judgment (Cranfield grades some pairs -1) counts as not relevant (0), as in
    trec_eval: as a negative gain it would push nDCG above 1.

    Raises:
        QuestionFileError: a malformed line (named by file and line), or no judged query.
    """
    judged: dict[str, dict[str, int]] = {}
    for n, line in enumerate(qrels.splitlines(), start=1):
        if n == 1 or not line.strip():  # the header
            continue
        fields = line.strip().split("\t")
        if len(fields) != 3 or not fields[2].lstrip("-").isdigit():
            raise QuestionFileError(
                f"{names[1]} line {n}: expected query-id, corpus-id and a whole-number "
                "score, separated by tabs"
            )
        qid, did, score = fields
        judged.setdefault(qid, {})[did] = max(0, int(score))
    texts = {}
    for n, line in enumerate(queries.splitlines(), start=1):
        if line.strip():
            row = _json_line(line, names[0], n)
            if "_id" not in row or not isinstance(row.get("text"), str):
                raise QuestionFileError(f'{names[0]} line {n}: needs "_id" and "text"')
            texts[str(row["_id"])] = row["text"]
    out = [Question(qid, texts[qid], gold) for qid, gold in judged.items() if qid in texts]
    if not out:
        raise QuestionFileError(f"no query of {names[0]} is judged in {names[1]}")
    return out


def questions_from_files(files: list[tuple[str, bytes]]) -> tuple[list[Question], bool]:
    """Questions from uploaded files: one QA-lines file, or BEIR queries (``.jsonl``) with
    their qrels (``.tsv``). Returns the questions and whether they are BEIR.

    Raises:
        QuestionFileError: not one of those two shapes, a file that is not UTF-8 text, or
            a malformed line (named by file and line).
    """
    texts = {}
    for name, data in files:
        try:
            texts[name] = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise QuestionFileError(f"{name}: not UTF-8 text") from None
    tables = [n for n in texts if n.lower().endswith(".tsv")]
    lines = [n for n in texts if n not in tables]
    if len(files) == 1 and lines:
        return parse_qa(texts[lines[0]], lines[0]), False
    if len(lines) == 1 and len(tables) == 1:
        return parse_beir(texts[lines[0]], texts[tables[0]], (lines[0], tables[0])), True
    raise QuestionFileError(
        "give one QA file (.jsonl), or BEIR queries (.jsonl) with their qrels (.tsv); got "
        + (", ".join(texts) or "no file")
    )


def _json_line(line: str, name: str, n: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QuestionFileError(f"{name} line {n}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise QuestionFileError(f"{name} line {n}: not a JSON object")
    return row


def unit_key(source: str, page: int | None) -> str:
    """The unit a passage counts for: ``file#page`` for a page, else ``file``."""
    return f"{source}#{page}" if page is not None else source


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


def normalise(text: str) -> str:
    """Lower case, one space, straight quotes, no Markdown escapes (for span checks)."""
    text = text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.replace("\\", "").lower().split())


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
