"""The LLM reranker through the real OpenAI client against the loopback stub."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.answer import AnswerResult
from rag.learned import LearnedReranker
from rag.llm_rerank import GRADER_PROMPT, parse_grades
from rag.passage import Passage
from rag.system import Docent, make_reranker
from tests.llm_stub import LLMStub, Reply

QUESTION = "How do honey bees tell direction?"


def _fused_pages(app: Docent) -> list[int | None]:
    """Pages of every candidate in the fused order (what the LLM will be shown)."""
    fused = app.settings.model_copy(update={"reranker": "none"})
    return [p.page for p in app.search(QUESTION, k=50, settings=fused).passages]


def _ask(app: Docent, stub: LLMStub) -> AnswerResult:
    settings = app.settings.model_copy(
        update={"llm_base_url": stub.base_url, "reranker": "llm", "llm_max_retries": 0}
    )
    stream = app.ask(QUESTION, k=3, settings=settings)
    "".join(stream)
    return stream.result


def test_llm_grades_reorder_the_sources(facts: Docent) -> None:
    pages = _fused_pages(facts)
    assert pages[0] == 2  # the bees page leads the fused order...
    grades = [10 if page == 3 else 1 for page in pages]  # ...the grader prefers glaciers
    reply = "Sure:\n```json\n" + json.dumps({"grades": grades}) + "\n```"
    with LLMStub([Reply(reply), Reply("Glaciers [1].")]) as stub:
        result = _ask(facts, stub)
    grading, answering = stub.requests
    assert grading["messages"][0]["content"] == GRADER_PROMPT
    assert grading["messages"][1]["content"].count("<source id=") == len(pages)
    assert "Question: " + QUESTION in grading["messages"][1]["content"]
    assert result.reranker == "llm (gpt-4o-mini)" and not result.warnings
    assert result.sources[0].page == 3 and result.sources[0].scores.llm == 10
    assert [p.scores.llm for p in result.sources[1:]] == [1, 1]
    assert result.sources[1].page == 2  # ties keep the fused order
    assert "Aletsch" in answering["messages"][1]["content"].split("</source>")[0]


@pytest.mark.parametrize("failure", [Reply("They all look relevant to me!"), Reply(status=500)])
def test_a_failed_grading_keeps_the_fused_order_and_says_so(facts: Docent, failure: Reply) -> None:
    pages = _fused_pages(facts)
    with LLMStub([failure, Reply("Bees dance [1].")]) as stub:
        result = _ask(facts, stub)
    assert [p.page for p in result.sources] == pages[:3]
    assert all(p.scores.llm is None for p in result.sources)
    assert any("LLM reranker failed" in w for w in result.warnings), result.warnings
    assert result.mode == "llm" and result.answer == "Bees dance [1]."


def test_no_grading_call_when_the_documents_do_not_cover_it(facts: Docent) -> None:
    with LLMStub([Reply("should not be called")]) as stub:
        settings = facts.settings.model_copy(
            update={"llm_base_url": stub.base_url, "reranker": "llm"}
        )
        stream = facts.ask("Which football club won the 1974 cup final?", settings=settings)
        "".join(stream)
    assert stream.result.mode == "not-found" and stub.requests == []


def test_answerability_is_judged_once_a_question(
    facts: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    judge = LearnedReranker.answerability

    def counted(self: LearnedReranker, query_vector: np.ndarray, passages: list[Passage]) -> float:
        calls.append(judge(self, query_vector, passages))
        return calls[-1]

    grades = {"grades": [5] * len(_fused_pages(facts))}
    monkeypatch.setattr(LearnedReranker, "answerability", counted)
    with LLMStub([Reply(json.dumps(grades)), Reply("Bees dance [1].")]) as stub:
        result = _ask(facts, stub)
    assert len(calls) == 1  # the refusal check before grading is reused as the confidence
    assert result.confidence == calls[0] and result.mode == "llm"


def test_llm_reranker_without_an_llm_falls_back_with_a_warning(facts: Docent) -> None:
    choice = make_reranker(facts.settings.model_copy(update={"reranker": "llm"}))
    assert choice.reranker.name == "none" and "needs an LLM" in (choice.warning or "")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"grades": [3, 10, 0]}', [3.0, 10.0, 0.0]),
        ('Here you go: {"grades": [12, -1, "7"]} hope that helps', [10.0, 0.0, 7.0]),
        ('{"grades": [3, 10, 0, 5, 5, 5, 5]}', [3.0, 10.0, 0.0]),  # a small model ran on
        ('{"grades": [3, 10, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1', [3.0, 10.0, 0.0]),  # to its limit
    ],
)
def test_parse_grades_reads_and_clamps(reply: str, expected: list[float]) -> None:
    assert parse_grades(reply, 3) == expected


@pytest.mark.parametrize(
    "reply",
    [
        '{"grades": [1, 2]}',
        '{"scores": [1, 2, 3]}',
        "no json",
        '{"grades": [1, "x", 3]}',
        '{"grades": [1, 2, 3',  # cut off: the last grade may be cut short too
    ],
)
def test_parse_grades_rejects_what_it_cannot_trust(reply: str) -> None:
    with pytest.raises(ValueError):
        parse_grades(reply, 3)
