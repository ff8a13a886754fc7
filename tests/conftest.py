"""Shared fixtures: the real packaged model, real Chroma (embedded and a `chroma run` server)."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.collection import Collection
from rag.config import Settings
from rag.embeddings import Embedder, get_embedder
from rag.system import Docent
from tests.servers import free_port, serve

REPO = Path(__file__).resolve().parent.parent
PDFS = REPO / "tests" / "data"  # real R manuals (GPL), kept in the repo


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
def docent(store_settings: Settings, embedder: Embedder) -> Iterator[Docent]:
    """Docent on both kinds of Chroma (embedded and a server)."""
    app = Docent(store_settings)
    yield app
    app.close()


@pytest.fixture
def local(settings: Settings, embedder: Embedder) -> Iterator[Docent]:
    """Docent on an embedded store in a fresh folder."""
    app = Docent(settings)
    yield app
    app.close()


@pytest.fixture
def facts(local: Docent) -> Docent:
    """Embedded Docent whose collection holds the three-page FACTS PDF (one fact per page)."""
    from tests.helpers import FACTS, make_pdf

    assert ingest(local, ("facts.pdf", make_pdf(FACTS))) == ["indexed"]
    return local


def ingest(
    app: Docent, *files: tuple[str, bytes], collection: Collection | None = None
) -> list[str]:
    """Ingest ``(name, bytes)`` files through the real pipeline; their statuses."""
    from ingest.pipeline import Source, ingest_sources

    sources = [Source.from_bytes(name, data) for name, data in files]
    target = collection or app.collection()
    return [r.status for r in ingest_sources(sources, target, app.embedder, app.settings)]


def chroma_finds(app: Docent, name: str | None = None) -> tuple[int, int]:
    """``(found, stored)``: stored chunks that chromadb itself returns first for their own vector.

    Asks chromadb directly (not Docent's ``findable``, which recovery trusts), so a test using
    this can catch a vector index that lost what the durable store says it holds.
    """
    import numpy as np

    collection = app.collection(name)
    chunks = list(collection.rows.chunks())
    if not chunks:
        return 0, 0
    raw = app.library.vectors.client.get_collection(collection.name)
    found = 0
    for start in range(0, len(chunks), 500):  # a server refuses very large payloads
        part = chunks[start : start + 500]
        vectors = np.stack([c.vector for c in part])
        res = raw.query(query_embeddings=vectors, n_results=1, include=[])
        found += sum(got[:1] == [c.chunk_id] for c, got in zip(part, res["ids"], strict=True))
    return found, len(chunks)


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[str, int]]:
    """A real PostgreSQL server on a free loopback port for the session."""
    from tests.postgres import postgres_server, require

    require()
    with postgres_server() as address:
        yield address


@pytest.fixture
def database_url(postgres: tuple[str, int]) -> str:
    """A fresh database on the session's PostgreSQL server."""
    from tests.postgres import new_database

    return new_database(*postgres)
