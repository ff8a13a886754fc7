"""Judged question files: what ``rag eval`` and the app's evaluation read.

Two kinds:

- **QA lines** (one JSON object a line): ``question``, ``answer`` (a short span that should
  appear in the answer; ``null`` = the documents don't answer it), ``doc`` (the file that
  answers it), ``pages`` (1-based pages of that file; ``null`` for formats without pages),
  optional ``answer_aliases`` and ``id``.
- **BEIR**: ``queries.jsonl`` (``_id``, ``text``) with a ``qrels.tsv`` (``query-id``,
  ``corpus-id``, ``score``); a document's id is its file name without the extension. The
  qrels may also be in TREC's form (``query-id iteration doc-id grade``, no header), as
  classic test collections ship them.

A malformed file is refused with its name and the line at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    return parse_qa(_decode(path.read_bytes(), path.name), path.name)


def _decode(data: bytes, name: str) -> str:
    """A question file's text (a byte-order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionFileError(f"{name}: not UTF-8 text") from None


def parse_qa(text: str, name: str) -> list[Question]:
    """Questions from the text of a QA-lines file called ``name`` (named in errors).

    Raises:
        QuestionFileError: a line that is not a JSON object with a ``question``, whose
            ``pages`` is not a list of page numbers, or that gives an ``answer`` without the
            ``doc`` that holds it.
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
        if pages is not None and not (isinstance(pages, list) and all(map(_page, pages))):
            raise QuestionFileError(f'{name} line {n}: "pages" must be a list of page numbers')
        gold: dict[str, int] = {}
        if answer is not None:
            if not row.get("doc"):
                raise QuestionFileError(
                    f'{name} line {n}: an "answer" needs the "doc" that holds it '
                    '(or "answer": null for a question the documents do not answer)'
                )
            doc = str(row["doc"])
            gold = {unit_key(doc, p): 1 for p in pages} if pages else {doc: 1}
        aliases = row.get("answer_aliases") or []
        if not isinstance(aliases, list):
            raise QuestionFileError(f'{name} line {n}: "answer_aliases" must be a list')
        spans = [] if answer is None else [str(answer), *map(str, aliases)]
        out.append(Question(str(row.get("id", n)), question, gold, spans))
    if not out:
        raise QuestionFileError(f"{name}: no questions")
    return out


def read_beir(queries: Path, qrels: Path) -> list[Question]:
    """The judged queries of a BEIR set (queries without judgments are left out)."""
    texts = (_decode(queries.read_bytes(), queries.name), _decode(qrels.read_bytes(), qrels.name))
    return parse_beir(*texts, (queries.name, qrels.name))


def parse_beir(queries: str, qrels: str, names: tuple[str, str]) -> list[Question]:
    """The judged queries of a BEIR set from the texts of its queries and qrels files.

    A negative judgment (Cranfield grades some pairs -1) counts as not relevant (0), as in
    trec_eval: as a negative gain it would push nDCG above 1.

    Raises:
        QuestionFileError: a malformed line (named by file and line), or no judged query.
    """
    judged = parse_qrels(qrels, names[1])
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


def parse_qrels(qrels: str, name: str) -> dict[str, dict[str, int]]:
    """Judgments (query id -> document id -> grade) of a qrels text: BEIR's (query-id,
    corpus-id, score, tab-separated, under a header) or TREC's (query-id, iteration, doc-id,
    grade, no header). A negative grade counts as 0 (see :func:`parse_beir`).

    Raises:
        QuestionFileError: a malformed line, named by ``name`` and its number.
    """
    judged: dict[str, dict[str, int]] = {}
    for n, line in enumerate(qrels.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        # BEIR: query-id, corpus-id, score (tab-separated, under a header); TREC: query-id,
        # iteration (unused), doc-id, grade (space-separated, no header)
        judgment = (
            fields if len(fields) == 3 else fields[:1] + fields[2:] if len(fields) == 4 else []
        )
        if not judgment or not judgment[2].lstrip("-").isdecimal():
            if n == 1:  # a header ("query-id corpus-id score")
                continue
            raise QuestionFileError(
                f"{name} line {n}: expected query-id, corpus-id and a whole-number "
                "score separated by tabs (BEIR), or query-id, iteration, doc-id and grade (TREC)"
            )
        qid, did, score = judgment
        judged.setdefault(qid, {})[did] = max(0, int(score))
    return judged


def questions_from_files(files: list[tuple[str, bytes]]) -> tuple[list[Question], bool]:
    """Questions from uploaded files: one QA-lines file, or BEIR queries (``.jsonl``) with
    their qrels (``.tsv``, or TREC qrels of any name). Returns the questions and whether they
    are BEIR.

    Raises:
        QuestionFileError: not one of those two shapes, a file that is not UTF-8 text, or
            a malformed line (named by file and line).
    """
    texts = {name: _decode(data, name) for name, data in files}
    if len(files) == 1 and not next(iter(texts)).lower().endswith(".tsv"):
        name = next(iter(texts))
        return parse_qa(texts[name], name), False
    if len(texts) == 2:
        # the queries are JSON lines; the qrels may have any name (qrels.tsv, cran.qrels, ...)
        queries = [n for n in texts if n.lower().endswith((".jsonl", ".json"))]
        if len(queries) != 1:
            queries = [n for n in texts if not n.lower().endswith(".tsv")]
        if len(queries) == 1:
            qrels = next(n for n in texts if n != queries[0])
            return parse_beir(texts[queries[0]], texts[qrels], (queries[0], qrels)), True
    raise QuestionFileError(
        "give one QA file (.jsonl), or BEIR queries (.jsonl) with their qrels (.tsv, or TREC "
        "qrels); got " + (", ".join(texts) or "no file")
    )


def _page(value: object) -> bool:
    """A 1-based page number (JSON's true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


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
