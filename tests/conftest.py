"""Shared fixtures: the real packaged model, real Chroma (embedded and a `chroma run` server)."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import rag  # noqa: F401 - offline environment before anything else
from rag.config import Settings
from rag.embeddings import Embedder, get_embedder
from rag.library import Library
from rag.runtime import open_library
from tests.servers import free_port, serve

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
PDFS = SHARED_DATA / "pdfs"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond loopback: Docent must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2, loaded once for the session."""
    return get_embedder()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on a free loopback port, stopped at the end."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    cmd = [
        str(chroma),
        "run",
        "--path",
        str(path / "db"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with serve(cmd, port, path / "server.log", timeout=60):
        yield "127.0.0.1", port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an embedded store in a fresh temp folder."""
    return Settings(data_dir=tmp_path / "data", collection="test", _env_file=None)


@pytest.fixture(params=["embedded", "server"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for the embedded store and for a real Chroma server (unique collection)."""
    collection = f"t-{uuid.uuid4().hex[:12]}"
    if request.param == "server":
        host, port = request.getfixturevalue("chroma_server")
        return Settings(
            data_dir=tmp_path / "data",
            collection=collection,
            chroma_host=host,
            chroma_port=port,
            _env_file=None,
        )
    return Settings(data_dir=tmp_path / "data", collection=collection, _env_file=None)


@pytest.fixture
def library(store_settings: Settings, embedder: Embedder) -> Iterator[Library]:
    """A library on both kinds of Chroma."""
    lib, _ = open_library(store_settings)
    yield lib
    lib.close()


@pytest.fixture
def facts_library(settings: Settings, embedder: Embedder) -> Iterator[Library]:
    """An embedded library holding the three-page FACTS PDF (one fact per page)."""
    from ingest.pipeline import Source, ingest_sources
    from tests.helpers import FACTS, make_pdf

    lib, _ = open_library(settings)
    source = Source.from_bytes("facts.pdf", make_pdf(FACTS))
    [result] = ingest_sources([source], settings.collection, lib, embedder, settings)
    assert result.status == "indexed", result
    yield lib
    lib.close()
