"""`python -m rag search|ask` as a user runs them, including --json and batch --questions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import BEES_QA, CUP_FINAL_QA, FACTS, make_pdf, write_qa


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the facts PDF ingested through the CLI."""
    root = tmp_path_factory.mktemp("ragcli")
    (root / "facts.pdf").write_bytes(make_pdf(FACTS))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest",
            str(root / "facts.pdf"),
            "--collection",
            "cli",
            "--data-dir",
            str(root / "data"),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return root / "data"


def _rag(
    *args: str | Path, stdin: str = "", module: str = "rag"
) -> subprocess.CompletedProcess[str]:
    env_free = {"DOCENT_LLM_BASE_URL": "", "OPENAI_API_KEY": "", "DOCENT_LLM_API_KEY": ""}
    import os

    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
        env={**os.environ, **env_free},
    )


def test_search_json(data_dir: Path) -> None:
    run = _rag(
        "search",
        "largest glacier in the Alps",
        "--collection",
        "cli",
        "--data-dir",
        data_dir,
        "--k",
        "2",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert len(out["results"]) == 2 and out["reranker"] == "learned"
    top = out["results"][0]
    assert top["source"] == "facts.pdf" and top["page"] == 3 and "Aletsch" in top["text"]
    scores = top["scores"]
    assert scores["fused_rank"] == 1 and scores["dense_rank"] == 1 and scores["bm25_rank"] == 1
    assert 0 < scores["dense"] <= 1 and scores["bm25"] > 0 and scores["rerank"] > 0.5
    assert out["results"][1]["scores"]["fused_rank"] == 2
    assert top["chunk_id"] and top["chunk_id"] != out["results"][1]["chunk_id"]
    assert out["timings_ms"]["embed"] > 0 and out["warnings"] == []


def test_ask_json_and_plain(data_dir: Path) -> None:
    run = _rag(
        "ask",
        "How do honey bees tell direction?",
        "--collection",
        "cli",
        "--data-dir",
        data_dir,
        "--json",
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no model-loading progress bar on a successful answer
    out = json.loads(run.stdout)
    assert out["mode"] == "extractive" and "waggle" in out["answer"]
    assert out["citations"][0]["page"] == 2 and out["sources"][0]["source"] == "facts.pdf"
    # a citation is the very source it numbers, in the same form as search results
    cited = dict(out["citations"][0])
    assert cited.pop("added_by_docent") is False  # the extractive answer cites it itself
    assert cited == out["sources"][0] and out["reranker"] == "learned"
    assert out["timings_unit"] == "ms" and out["timings"]["total"] >= out["timings"]["embed"] > 0
    plain = _rag(
        "ask", "How do honey bees tell direction?", "--collection", "cli", "--data-dir", data_dir
    )
    assert "Sources:\n  [1] facts.pdf, p. 2, Bees" in plain.stdout
    assert "mode extractive" in plain.stdout


def test_a_question_too_long_to_take_exits_1_without_sources(data_dir: Path) -> None:
    question = "Why do honey bees dance? " * 400  # over the 1,000-token limit
    run = _rag("ask", question, "--collection", "cli", "--data-dir", data_dir)
    assert run.returncode == 1, run.stderr
    assert "tokens long" in run.stdout and "mode error" in run.stdout
    assert "Sources:" not in run.stdout  # nothing was searched


def test_a_blank_question_is_a_usage_error(data_dir: Path) -> None:
    run = _rag("ask", "   ", "--collection", "cli", "--data-dir", data_dir)
    assert run.returncode == 2 and "give a question" in run.stderr and not run.stdout


@pytest.mark.parametrize("k", ["0", "-3", "51", "two"])
def test_a_passage_count_out_of_range_is_a_usage_error(data_dir: Path, k: str) -> None:
    # --k -3 used to slice the passages from the end (6 of 9 returned), and exit 0
    run = _rag("search", "bees", "--collection", "cli", "--data-dir", data_dir, "--k", k)
    assert run.returncode == 2 and "--k" in run.stderr and not run.stdout


def test_batch_questions_in_order(data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "largest glacier in the Alps?"})
        + "\n"
        + json.dumps({"question": "Kilauea eruption years?"})
        + "\n"
    )
    run = _rag("ask", "--questions", questions, "--collection", "cli", "--data-dir", data_dir)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [x["question"] for x in lines] == [
        "largest glacier in the Alps?",
        "Kilauea eruption years?",
    ]
    assert lines[0]["sources"][0]["page"] == 3 and lines[1]["sources"][0]["page"] == 1
    plain = tmp_path / "q.txt"
    plain.write_text("largest glacier in the Alps?\n\nKilauea eruption years?\n")
    run = _rag("search", "--questions", plain, "--collection", "cli", "--data-dir", data_dir)
    assert [json.loads(x)["results"][0]["page"] for x in run.stdout.splitlines()] == [3, 1]


def test_a_question_of_stop_words_gets_results_not_a_traceback(data_dir: Path) -> None:
    # H4: "???" or "the" made bm25s raise IndexError: a traceback and exit 1.
    for question in ("???", "the", "a an the of"):
        run = _rag("search", question, "--collection", "cli", "--data-dir", data_dir, "--json")
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
        assert json.loads(run.stdout)["results"]
    run = _rag("ask", "the", "--collection", "cli", "--data-dir", data_dir, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["mode"] in ("extractive", "not-found")


def test_users_and_acting_as_one(data_dir: Path, tmp_path: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    added = _rag(
        "users", *d, "add", "alice", "--admin", "--password-stdin", stdin="correct horse\n"
    )
    assert added.returncode == 0 and "added admin alice" in added.stdout, added.stderr
    assert (
        _rag("users", *d, "add", "bob", "--password-stdin", stdin="battery staple\n").returncode
        == 0
    )
    short = _rag("users", *d, "add", "cat", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    listed = _rag("users", *d, "list").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["alice", "admin", "password"],
        ["bob", "user", "password"],
    ]
    ask = ["search", "bees", "--collection", "cli", *d, "--json"]
    denied = _rag(*ask, "--user", "bob")  # "cli" belongs to the local administrator
    assert (
        denied.returncode == 2 and "bob has no access to a collection named 'cli'" in denied.stderr
    )
    assert _rag(*ask, "--user", "alice").returncode == 0  # an admin
    assert _rag(*ask, "--user", "nobody").returncode == 2
    qa = write_qa(tmp_path / "bees.jsonl", [BEES_QA])
    evaluate = ["eval", "--questions", qa, "--collection", "cli", *d, "--user", "bob"]
    assert "bob has no access" in _rag(*evaluate).stderr  # eval acts as a user too
    shared = _rag("share", "cli", "bob", "--role", "reader", *d)
    assert shared.returncode == 0 and "bob is reader" in shared.stdout, shared.stderr
    assert json.loads(_rag(*ask, "--user", "bob").stdout)["results"]
    assert _rag(*evaluate).returncode == 0
    note = tmp_path / "bob.md"
    note.write_text("# Bob\nBob's note.\n")
    wrote = _rag(note, "--collection", "cli", *d, "--user", "bob", module="ingest")
    assert wrote.returncode == 2 and "bob is a reader of 'cli'" in wrote.stderr
    own = _rag(note, "--collection", "bobs", *d, "--user", "bob", module="ingest")
    assert own.returncode == 0, own.stderr
    assert (
        _rag("users", *d, "passwd", "bob", "--password-stdin", stdin="new battery\n").returncode
        == 0
    )
    assert _rag("users", *d, "remove", "bob").returncode == 0
    assert "bob" not in _rag("users", *d, "list").stdout
    # a new account under the old name inherits nothing: not the grant, not the collection
    again = _rag("users", *d, "add", "bob", "--password-stdin", stdin="another person\n")
    assert again.returncode == 0
    assert _rag(*ask, "--user", "bob").returncode == 2
    listed = ["--list", "--collection", "bobs", *d]
    inherited = _rag(*listed, "--user", "bob", module="ingest")
    assert inherited.returncode == 2 and "no access" in inherited.stderr
    assert "bob.md" in _rag(*listed, module="ingest").stdout  # the administrator still has it
    typo = _rag("ask", "bees?", "--collection", "cil", *d)  # a mistyped name, not an answer
    assert typo.returncode == 2 and "no collection 'cil'" in typo.stderr
    assert "(collections: bobs, cli)" in typo.stderr and "Sources" not in typo.stdout
    questions = write_qa(tmp_path / "qa.jsonl", [BEES_QA])
    evaluated = _rag("eval", "--questions", questions, "--collection", "cil", *d)
    assert evaluated.returncode == 2 and "no collection 'cil'" in evaluated.stderr


def test_eval_reports_the_figures_of_a_question_file(data_dir: Path, tmp_path: Path) -> None:
    questions = write_qa(tmp_path / "qa.jsonl", [BEES_QA, CUP_FINAL_QA])
    run = _rag(
        "eval",
        "--questions",
        questions,
        "--collection",
        "cli",
        "--data-dir",
        data_dir,
        "--json",
        "--details",
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert (out["hit_1"], out["mrr_10"], out["answer_span"]) == (1.0, 1.0, 1.0)
    assert (out["refused_unanswerable"], out["refused_answerable"]) == (1.0, 0.0)
    assert [d["mode"] for d in out["details"]] == ["extractive", "not-found"]
    table = _rag("eval", "--questions", questions, "--collection", "cli", "--data-dir", data_dir)
    assert "| hit@1 | 1.000 |" in table.stdout
    queries, qrels = tmp_path / "queries.jsonl", tmp_path / "qrels.tsv"
    queries.write_text('{"_id": "q1", "text": "largest glacier"}\n')
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tfacts\t1\n")  # a document's id: its stem
    beir = _rag(
        "eval",
        "--questions",
        queries,
        "--qrels",
        qrels,
        "--collection",
        "cli",
        "--data-dir",
        data_dir,
        "--json",
    )
    assert json.loads(beir.stdout)["ndcg_10"] == 1.0, beir.stderr
    assert "warning" not in run.stderr + beir.stderr  # every named document is there
    elsewhere = write_qa(tmp_path / "other.jsonl", [{**BEES_QA, "doc": "bees.pdf"}])
    warned = _rag("eval", "--questions", elsewhere, "--collection", "cli", "--data-dir", data_dir)
    assert warned.returncode == 0 and "| hit@1 | 0.000 |" in warned.stdout
    assert "1 document(s) that collection 'cli' does not hold (bees.pdf)" in warned.stderr
    missing = _rag("eval", "--questions", tmp_path / "nope.jsonl", "--data-dir", data_dir)
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": null}\n{"answer": "x"}\n')
    refused = _rag("eval", "--questions", bad, "--data-dir", data_dir)
    assert refused.returncode == 2 and 'bad.jsonl line 2: no "question"' in refused.stderr
    assert "Traceback" not in refused.stderr


CORPUS = [
    {
        "_id": "glacier",
        "title": "The Aletsch Glacier",
        "text": "The Aletsch Glacier is the "
        "largest glacier in the Alps, about 23 kilometres long, in the canton of Valais.",
    },
    {
        "_id": "lake",
        "title": "Lake Geneva",
        "text": "Lake Geneva is a deep lake on the north "
        "side of the Alps, shared between Switzerland and France.",
    },
    {
        "_id": "pass",
        "title": "",
        "text": "The Gotthard Pass links the north and south of "
        "Switzerland; a rail tunnel has run beneath it since 1882.",
    },
    {"_id": "peak", "title": "The Matterhorn, a pyramid-shaped peak above Zermatt", "text": ""},
    {"_id": "peak-2", "title": "The Matterhorn, a pyramid-shaped peak above Zermatt", "text": ""},
]


def test_a_beir_corpus_is_ingested_and_evaluated(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus.jsonl", tmp_path / "data"
    corpus.write_text("".join(json.dumps(row) + "\n" for row in CORPUS))
    where = ("--collection", "beir", "--data-dir", data)
    run = _rag("--beir", corpus, *where, module="ingest")
    assert run.returncode == 0, run.stderr
    listed = _rag("--list", *where, module="ingest").stdout
    assert sorted(line.split("\t")[0] for line in listed.splitlines()) == [
        "glacier.md",
        "lake.md",
        "pass.md",
        "peak-2.md",  # a copy of another record is judged by its own id, so it is kept
        "peak.md",  # a title-only record (CACM has 1,617) is its title, not "no readable text"
    ]
    found = json.loads(_rag("search", "longest glacier", *where, "--json").stdout)
    top = found["results"][0]
    assert top["source"] == "glacier.md" and top["headings"] == ["The Aletsch Glacier"]
    queries, qrels = tmp_path / "queries.jsonl", tmp_path / "qrels.tsv"
    queries.write_text(
        '{"_id": "1", "text": "Which is the longest glacier of the Alps?"}\n'
        '{"_id": "2", "text": "When did trains start running under the Gotthard?"}\n'
    )
    # graded judgments; a negative one (Cranfield has them) counts as not relevant
    qrels.write_text("query-id\tcorpus-id\tscore\n1\tglacier\t2\n1\tlake\t-1\n2\tpass\t1\n")
    scores = _rag("eval", "--questions", queries, "--qrels", qrels, *where, "--json")
    out = json.loads(scores.stdout)
    assert (out["questions"], out["hit_1"], out["ndcg_10"]) == (2, 1.0, 1.0), scores.stderr


def test_a_bad_beir_line_is_named_and_nothing_is_stored(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus.jsonl", tmp_path / "data"
    lines = [json.dumps(row) for row in CORPUS]
    corpus.write_text("\n".join([lines[0], lines[1], '{"title": "no id", "text": "x"}']) + "\n")
    where = ("--collection", "beir", "--data-dir", data)
    run = _rag("--beir", corpus, *where, module="ingest")
    assert run.returncode == 2 and "corpus.jsonl: line 3" in run.stderr, run.stderr
    listed = _rag("--list", *where, module="ingest")  # not even an empty collection was made
    assert listed.returncode == 2 and "no collection 'beir'" in listed.stderr, listed.stderr
