"""Embeddings from an OpenAI-compatible endpoint: batched, retried, normalised, fingerprinted,
and through the whole pipeline (ingest, sentence vectors, search)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.embeddings import Embedder, EmbeddingModelError
from rag.remote_embeddings import RemoteEmbedder
from rag.system import Docent
from rag.vectors import EmbeddingMismatchError
from tests.conftest import ingest
from tests.embeddings_stub import EmbeddingsStub
from tests.helpers import FACTS, make_pdf
from tests.servers import free_port

TEXTS = [text for _, text in FACTS] * 5  # 15 texts


def test_vectors_come_batched_and_unit_length(embedder: Embedder) -> None:
    with EmbeddingsStub(embedder) as stub:
        remote = RemoteEmbedder(stub.base_url, "minilm", api_key="sk-test", batch_size=4)
        vectors = remote.encode(TEXTS)
    assert remote.fingerprint.describe() == "endpoint:minilm (384-d, normalised)"
    assert [len(batch) for batch in stub.inputs] == [1, 4, 4, 4, 3]  # the probe, then batches
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * embedder.encode(TEXTS)).sum(axis=1).min() >= 0.9999  # order kept
    assert set(stub.authorization) == {"Bearer sk-test"}


def test_rate_limits_are_waited_out(embedder: Embedder) -> None:
    with EmbeddingsStub(embedder, fail_first=2) as stub:
        remote = RemoteEmbedder(stub.base_url, "minilm", max_retries=3)
        assert remote.encode(TEXTS[:2]).shape == (2, 384)
    assert stub.failures == 2


def test_errors_name_the_endpoint_and_never_the_key(embedder: Embedder) -> None:
    with EmbeddingsStub(embedder) as stub, pytest.raises(EmbeddingModelError) as wrong:
        RemoteEmbedder(stub.base_url, "no-such-model", api_key="sk-secret", max_retries=0)
    assert stub.base_url in str(wrong.value) and "no-such-model" in str(wrong.value)
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EmbeddingModelError) as down:
        RemoteEmbedder(url, "minilm", api_key="sk-secret", max_retries=0, timeout_s=2)
    assert url in str(down.value)
    assert "sk-secret" not in str(wrong.value) + str(down.value)


def test_a_collection_embedded_by_the_endpoint(embedder: Embedder, tmp_path: Path) -> None:
    with EmbeddingsStub(embedder) as stub:
        settings = Settings(
            data_dir=tmp_path / "data",
            embeddings_base_url=stub.base_url,
            embeddings_model="minilm",
            _env_file=None,
        )
        app = Docent(settings)
        try:
            assert ingest(app, ("facts.pdf", make_pdf(FACTS))) == ["indexed"]
            result = app.search("How do honey bees tell direction?", k=1)
            [top] = result.passages
            assert top.chunk.meta.page == 2
            spans = top.chunk.meta.sentence_spans
            assert top.chunk.sentence_vectors is not None
            assert top.chunk.sentence_vectors.shape == (len(spans), 384)
            asked = [text for batch in stub.inputs[1:] for text in batch]  # after the probe
            assert len(asked) > len(app.collection().rows.ready_texts()[0])  # sentences too
            # each sentence vector is one the endpoint returned (normalised, stored as float16)
            rows = top.chunk.sentence_vectors.astype(np.float32)
            assert (embedder.encode(asked) @ rows.T).max(axis=0).min() >= 0.999
        finally:
            app.close()
    local = Docent(Settings(data_dir=tmp_path / "data", _env_file=None))
    try:  # the local model's vectors are not the endpoint's: refused, with the way out
        with pytest.raises(EmbeddingMismatchError, match="--reindex"):
            local.search("bees")
    finally:
        local.close()


def test_a_real_llama_cpp_embeddings_server(tmp_path: Path) -> None:
    """The protocol against a real server process: llama.cpp's, in embedding mode. No GGUF
    embedding model ships on the package registries, so the SmolLM2 chat model serves (its
    vectors are pooled hidden states: the protocol is what is checked, not their quality)."""
    import sys

    from tests.servers import serve
    from tests.test_e2e_llama import _gguf

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(_gguf())]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--embedding", "true"]
    cmd += ["--model_alias", "smollm2-embed", "--n_ctx", "512"]
    with serve(cmd, port, tmp_path / "server.log"):
        remote = RemoteEmbedder(f"http://127.0.0.1:{port}/v1", "smollm2-embed", batch_size=2)
        vectors = remote.encode(["Honey bees dance.", "Glaciers move slowly.", "Bees dance."])
    assert remote.fingerprint.model == "endpoint:smollm2-embed"
    assert vectors.shape == (3, remote.fingerprint.dimension) and remote.fingerprint.dimension > 100
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])  # different texts, different vectors
