"""Every sentence of an LLM answer grounded or flagged, through the real client and the stub."""

from __future__ import annotations

import time

import pytest

from rag.answer import AnswerResult
from rag.attribution import annotate, split_units
from rag.system import Docent
from tests.llm_stub import LLMStub, Reply

QUESTION = "How do honey bees tell direction, and what else is in these notes?"


def _answer(app: Docent, reply: str) -> AnswerResult:
    with LLMStub([Reply(reply)]) as stub:
        settings = app.settings.model_copy(update={"llm_base_url": stub.base_url})
        stream = app.ask(QUESTION, k=3, settings=settings)
        "".join(stream)
    assert stream.result.mode == "llm", stream.result.error
    return stream.result


def _page(result: AnswerResult, number: int | None) -> int | None:
    return None if number is None else result.sources[number - 1].page


def test_an_answer_without_markers_gets_its_sources_added(facts: Docent) -> None:
    result = _answer(
        facts,
        "Honey bees show where flowers are with a waggle dance inside the dark hive. "
        "The Aletsch glacier in the Swiss Alps is about twenty kilometres long.",
    )
    bees, glacier = result.support
    assert (_page(result, bees.source), _page(result, glacier.source)) == (2, 3)
    assert bees.added and glacier.added and result.unsupported_sentences == 0
    assert {c.number for c in result.citations if c.added} == {bees.source, glacier.source}
    shown = annotate(result.answer, [s.to_dict() for s in result.support])
    assert f"dark hive [{bees.source}]⁺." in shown and f"long [{glacier.source}]⁺." in shown
    data = result.to_dict()
    assert data["sentences"] == 2 and data["unsupported_sentences"] == 0
    assert data["support"][0]["added"] and data["citations"][0]["added_by_docent"]


def test_wrong_markers_fabricated_numbers_negations_and_outside_facts(facts: Docent) -> None:
    bees_first = _answer(facts, "Honey bees dance [1].").sources[0].page == 2
    assert bees_first  # the bees page is source [1] for this question
    result = _answer(
        facts,
        "Honey bees perform a waggle dance to show the direction of flowers [1]. "
        "The Aletsch glacier is the largest glacier in the Alps [1]. "
        "The Kilauea volcano erupted continuously from 1983 to 2011. "
        "Honey bees never dance inside the hive to show the direction of flowers. "
        "Bees see ultraviolet light and navigate by the polarisation of the sky.\n\n"
        "```r\n> length(bees)\n[1] 42\n```\n",
    )
    dance, glacier, volcano, negated, outside, code = result.support
    assert dance.supported and dance.source == 1 and not dance.added
    assert glacier.supported and glacier.unsupported_citations == [1]  # [1] is the bees page
    assert _page(result, glacier.source) == 3
    assert not volcano.supported  # 2011 is nowhere in the sources
    assert not negated.supported  # the source says they do, inside the hive
    assert not outside.supported
    assert code.kind == "code" and code.cited == []  # "[1] 42" is R output, not a citation
    assert result.unsupported_sentences == 3
    shown = annotate(result.answer, [s.to_dict() for s in result.support])
    assert shown.count("(not found in your documents)") == 3
    assert f"[1] does not say this; [{glacier.source}] does" in shown
    assert "```r\n> length(bees)\n[1] 42\n```" in shown


def test_units_keep_lists_and_code_whole() -> None:
    answer = (
        "First sentence here [1]. Second one follows.\n\n- an item with words\n"
        "- another item [2]\n\n```r\nx <- 1\n```\n"
    )
    units = split_units(answer)
    assert [u.kind for u in units] == ["sentence", "sentence", "item", "item", "code"]
    assert all(answer[u.start : u.end] == u.text for u in units)


def test_attribution_of_ten_sentences_is_quick(facts: Docent) -> None:
    # Kept far above the budget (100 ms, measured in bench/README.md): a guard, not a timer.
    from rag.attribution import attribute

    sources = facts.search("bees glaciers volcanoes", k=3).passages
    answer = " ".join(f"Sentence {i} says the Aletsch glacier is long." for i in range(10))
    attribute(answer, sources, facts.embedder)  # warm up
    start = time.perf_counter()
    supports = attribute(answer, sources, facts.embedder)
    assert len(supports) == 10 and time.perf_counter() - start < 5.0


@pytest.mark.parametrize("reply", ["The documents don't cover this."])
def test_a_refusal_is_not_attributed(facts: Docent, reply: str) -> None:
    with LLMStub([Reply(reply)]) as stub:
        settings = facts.settings.model_copy(update={"llm_base_url": stub.base_url})
        stream = facts.ask(QUESTION, k=3, settings=settings)
        "".join(stream)
    assert stream.result.mode == "not-found" and stream.result.support == []


def test_restating_the_question_is_not_a_claim(facts: Docent) -> None:
    from rag.attribution import attribute

    question = "Which instrument do the orchestra's honey bees play to tell each other directions?"
    sources = facts.search(question, k=3).passages
    restated = "The instrument the orchestra's honey bees play to tell each other directions is"
    right, wrong = f"{restated} a waggle dance.", f"{restated} a trumpet."
    [plain] = attribute(right, sources, facts.embedder)
    [aware] = attribute(right, sources, facts.embedder, question=question)
    [made_up] = attribute(wrong, sources, facts.embedder, question=question)
    assert aware.supported and _page_of(sources, aware.source) == 2
    assert aware.score > plain.score  # the question's own words no longer count against it
    assert not made_up.supported


def _page_of(sources: list, number: int | None) -> int | None:
    return None if number is None else sources[number - 1].page


def test_a_citation_added_to_code_leaves_its_fence_closed() -> None:
    # " [1]⁺" on the closing fence's line kept the fence open: the rest of the answer, notes
    # and all, turned into one code block.
    from markdown_it import MarkdownIt

    answer = "R prints the mean:\n\n```r\n> mean(x)\n[1] 42\n```\n\nThe mean is forty-two."
    units = split_units(answer)
    assert [u.kind for u in units] == ["sentence", "code", "sentence"]
    code, last = units[1], units[2]
    supports = [
        {"end": code.end, "kind": "code", "added": True, "source": 1, "supported": True},
        {"end": last.end, "kind": "sentence", "added": False, "source": 0, "supported": False},
    ]
    html = MarkdownIt("commonmark").render(annotate(answer, supports))
    assert '<code class="language-r">&gt; mean(x)\n[1] 42\n</code></pre>\n<p>[1]⁺</p>' in html
    assert "<p>The mean is forty-two <em>(not found in your documents)</em>.</p>" in html


def test_indented_code_is_one_code_unit() -> None:
    answer = "Assign it first.\n\n    x <- c(1, 2)\n    mean(x)\n\nThat prints one number."
    assert [u.kind for u in split_units(answer)] == ["sentence", "code", "sentence"]
