"""`python -m rag eval`: the metrics by hand, the question files, and a real run."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from rag.evaluate import contains_span, evaluate, hit_at, mrr_at, ndcg_at, recall_at
from rag.questions import QuestionFileError, questions_from_files, read_beir, read_qa
from rag.system import Docent
from tests.helpers import BEES_QA, CUP_FINAL_QA, GLACIER_QA, write_qa


def test_metrics_worked_by_hand() -> None:
    ranked = ["a", "b", "c", "d"]
    gold = {"c": 2, "x": 1}
    assert (hit_at(ranked, gold, 1), hit_at(ranked, gold, 3)) == (0.0, 1.0)
    assert mrr_at(ranked, gold, 10) == pytest.approx(1 / 3)
    assert mrr_at(ranked, gold, 2) == 0.0
    ideal = 2 + 1 / math.log2(3)
    assert ndcg_at(ranked, gold, 10) == pytest.approx((2 / math.log2(4)) / ideal)
    assert recall_at(ranked, gold, 100) == 0.5
    assert contains_span("> It is **4095 bytes** long [1]", ["4095 bytes"])
    assert contains_span("the ‘R_HOME’ variable", ["'R_HOME'"])
    assert not contains_span("forty bytes", ["4095 bytes"])
    # a quote's kept line break is read as a break, not as "> " between the span's words
    quoted = "> set to its default  \n> value of C, and so [1]\n>\n> \\> x <- 1  \n"
    assert contains_span(quoted, ["its default value of C"])
    assert contains_span(quoted, ["> x <- 1"])
    assert not contains_span(quoted, ["default > value"])
    coded = "> has the general form  \n> ```\n> CREATE INDEX name\n> ```\n> where [1]"
    assert contains_span(coded, ["the general form CREATE INDEX name where"])


def test_both_file_formats(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"id": "a", "question": "q1", "answer": "x", "doc": "f.pdf", "pages": [2, 3]})
        + "\n"
        + json.dumps({"id": "b", "question": "q2", "answer": None, "doc": None, "pages": []})
        + "\n"
        + json.dumps({"question": "q3", "answer": "y", "doc": "p.html", "pages": None})
        + "\n"
    )
    a, b, c = read_qa(qa)
    assert a.gold == {"f.pdf#2": 1, "f.pdf#3": 1} and a.answers == ["x"] and a.answerable
    assert b.gold == {} and not b.answerable
    assert c.gold == {"p.html": 1} and c.id == "3"
    queries, qrels = tmp_path / "queries.jsonl", tmp_path / "qrels.tsv"
    queries.write_text('{"_id": "1", "text": "claim"}\n{"_id": "2", "text": "unjudged"}\n')
    qrels.write_text("query-id\tcorpus-id\tscore\r\n1\t77\t1\r\n1\t78\t2\r\n")
    [only] = read_beir(queries, qrels)
    assert (only.id, only.text, only.gold) == ("1", "claim", {"77": 1, "78": 2})
    # a negative judgment (Cranfield's -1) is "not relevant", not a penalty: nDCG stays <= 1
    qrels.write_text("query-id\tcorpus-id\tscore\n1\t77\t2\n1\t78\t-1\n")
    [only] = read_beir(queries, qrels)
    assert only.gold == {"77": 2, "78": 0}
    assert ndcg_at(["77", "5", "78"], only.gold) == 1.0


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            [("qa.jsonl", b'{"question": "q1", "answer": null}\n{"question": "q2"\n')],
            "qa.jsonl line 2: not JSON",
        ),
        ([("qa.jsonl", b'{"answer": "x"}\n')], 'qa.jsonl line 1: no "question"'),
        (
            [("qa.jsonl", b'{"question": "q", "answer": "x", "doc": "a.pdf", "pages": "3"}\n')],
            'qa.jsonl line 1: "pages" must be',
        ),
        ([("qa.jsonl", b"\n\n")], "qa.jsonl: no questions"),
        ([("qa.jsonl", b"\xff\xfe{}")], "qa.jsonl: not UTF-8"),
        (
            [("q.jsonl", b'{"_id": "1", "text": "t"}\n'), ("r.tsv", b"h\n1\t7\n")],
            "r.tsv line 2: expected",
        ),
        (
            [("q.jsonl", b'{"_id": "1", "text": "t"}\n'), ("r.tsv", b"h\n2\t7\t1\n")],
            "no query of q.jsonl is judged in r.tsv",
        ),
        ([("a.jsonl", b"{}"), ("b.jsonl", b"{}")], "got a.jsonl, b.jsonl"),
        ([], "no file"),
        (
            [("qa.jsonl", b'{"question": "q", "answer": "x", "doc": "a.pdf", "pages": [true]}')],
            '"pages" must be',
        ),
        (
            [("qa.jsonl", b'{"question": "q", "answer": "x", "doc": "a.pdf", "pages": [0]}')],
            '"pages" must be',
        ),
        (
            [("qa.jsonl", b'{"question": "q", "answer": "x"}')],
            'qa.jsonl line 1: an "answer" needs the "doc"',
        ),
        (
            [("q.jsonl", b'{"_id": "1", "text": "t"}'), ("r.tsv", "h\n1\t7\t\u00b2\n".encode())],
            "r.tsv line 2",
        ),
    ],
)
def test_a_bad_question_file_is_named_with_its_line(
    files: list[tuple[str, bytes]], message: str
) -> None:
    with pytest.raises(QuestionFileError, match=re.escape(message)):
        questions_from_files(files)


def test_a_file_that_is_not_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"question": "Où?", "answer": null}'.encode("latin-1"))
    with pytest.raises(QuestionFileError, match=re.escape("latin1.jsonl: not UTF-8 text")):
        read_qa(path)


def test_the_apps_example_file_reads_as_one_answerable_and_one_unanswerable() -> None:
    from ui.evaluate import EXAMPLE

    questions, beir = questions_from_files([("questions.jsonl", EXAMPLE.encode())])
    assert not beir and [q.answerable for q in questions] == [True, False]


def test_uploaded_files_are_told_apart() -> None:
    qa = b'\xef\xbb\xbf{"question": "q", "answer": "x", "doc": "a.pdf", "pages": [2]}\r\n'
    questions, beir = questions_from_files([("qa.jsonl", qa)])
    assert not beir and questions[0].gold == {"a.pdf#2": 1}  # a byte-order mark is no matter
    queries = b'{"_id": "1", "text": "claim"}\n'
    qrels = b"query-id\tcorpus-id\tscore\n1\t77\t1\n"
    questions, beir = questions_from_files([("qrels.tsv", qrels), ("queries.jsonl", queries)])
    assert beir and (questions[0].text, questions[0].gold) == ("claim", {"77": 1})
    # TREC's qrels, as classic collections ship them: any name, no header, an iteration column
    trec = b"1 0 77 2\n1 0 78 0\n"
    questions, beir = questions_from_files([("queries.jsonl", queries), ("cran.qrels", trec)])
    assert beir and questions[0].gold == {"77": 2, "78": 0}  # the first line is a judgment


def test_trec_qrels_and_beir_qrels_without_a_header_lose_no_judgment(tmp_path: Path) -> None:
    queries, qrels = tmp_path / "queries.jsonl", tmp_path / "qrels"
    queries.write_text('{"_id": "1", "text": "claim"}\n{"_id": "2", "text": "other"}\n')
    qrels.write_text("1 0 77 1\n1 Q0 78 2\n2 0 9 1\n")
    assert [(q.id, q.gold) for q in read_beir(queries, qrels)] == [
        ("1", {"77": 1, "78": 2}),
        ("2", {"9": 1}),
    ]
    qrels.write_text("1\t77\t1\n2\t9\t1\n")  # BEIR's columns with no header line
    assert [(q.id, q.gold) for q in read_beir(queries, qrels)] == [
        ("1", {"77": 1}),
        ("2", {"9": 1}),
    ]


def test_a_run_on_a_real_collection(facts: Docent, tmp_path: Path) -> None:
    kilauea = {  # judged on a page that is not there, on purpose
        "question": "When did Kilauea stop erupting?",
        "answer": "2018",
        "doc": "facts.pdf",
        "pages": [9],
    }
    path = write_qa(tmp_path / "qa.jsonl", [BEES_QA, GLACIER_QA, kilauea, CUP_FINAL_QA])
    seen: list[tuple[int, int]] = []
    report = evaluate(
        facts.answerer(), facts.collection(), read_qa(path), k=2, progress=lambda *a: seen.append(a)
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert (report.questions, report.answerable, report.unanswerable) == (4, 3, 1)
    assert report.hit_1 == pytest.approx(2 / 3)  # the third can't be found: a miss...
    assert report.hit_k == pytest.approx(2 / 3) and report.recall_100 == pytest.approx(2 / 3)
    assert report.refused_unanswerable == 1.0 and report.refused_answerable == 0.0
    assert report.answer_span == 1.0  # ...but "2018" is in its answer all the same
    assert [d["id"] for d in report.details] == ["1", "2", "3", "4"]
    assert report.details[0]["top"][0] == "facts.pdf#2"
