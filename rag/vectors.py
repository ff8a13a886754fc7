"""Chroma, the vector index: its client (embedded or server) and collections stamped with their
embedding model. Chroma holds derived data only; the durable store can always rebuild it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from rag.chunks import ChunkRecord
from rag.config import Settings
from rag.embeddings import Fingerprint

SPACE = "cosine"
# How widely HNSW searches. Chroma's default, 100, leaves out 2-4 % of the exact 100 nearest
# chunks (a dense search asks for 100); 400 finds 99.8 % or more at about the same speed
# (bench/README.md, "Vector search recall").
SEARCH_EF = 400

P = ParamSpec("P")
R = TypeVar("R")


class EmbeddingMismatchError(RuntimeError):
    """A collection was built with another embedding model than the one configured."""

    def __init__(self, collection: str, stored: Fingerprint, configured: Fingerprint) -> None:
        super().__init__(
            f"collection {collection!r} was indexed with {stored.describe()}, but Docent is "
            f"configured with {configured.describe()}; vectors from different models are not "
            f"comparable. Set DOCENT_EMBEDDING_MODEL={stored.model} to use it as it is, or "
            f"re-index it with: python -m ingest --reindex --collection {collection}"
        )
        self.stored, self.configured = stored, configured


class StoreUnavailableError(RuntimeError):
    """The Chroma server cannot be reached."""


def _reached(method: Callable[P, R]) -> Callable[P, R]:
    """A call that talks to Chroma: a server gone since it was opened (stopped, restarting,
    the network) is a :class:`StoreUnavailableError` saying so, not the HTTP client's own."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        import httpx

        try:
            return method(*args, **kwargs)
        except httpx.TransportError as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server ({type(exc).__name__}); start it again "
                "(`chroma run --path DIR --port N`, behind its proxy): Docent carries on once "
                "it answers"
            ) from None

    return call


def open_client(settings: Settings, folder: Path) -> Any:
    """A Chroma client: ``HttpClient`` when a host is configured, else embedded in ``folder``."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=settings.chroma_headers or None,
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            scheme = "https" if settings.chroma_ssl else "http"
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {scheme}://{settings.chroma_host}:"
                f"{settings.chroma_port} ({type(exc).__name__}: {str(exc)[:200]}); start it "
                f"with `chroma run --path DIR --port {settings.chroma_port}` (behind its proxy), "
                "check DOCENT_CHROMA_HEADERS, or unset DOCENT_CHROMA_HOST to use the embedded store"
            ) from None
        return client
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)


class VectorIndex:
    """One Chroma collection whose vectors all come from one embedding model."""

    def __init__(self, client: Any, name: str, fingerprint: Fingerprint) -> None:
        self.client, self.name = client, name
        self.collection = client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": SPACE, "ef_search": SEARCH_EF}},
            metadata=fingerprint.as_metadata(),
            embedding_function=None,  # Chroma's default would download a model
        )
        stored = Fingerprint.from_metadata(self.collection.metadata)
        if stored is not None and stored != fingerprint:
            raise EmbeddingMismatchError(name, stored, fingerprint)

    @_reached
    def widen_search(self) -> None:
        """Raise a collection made before :data:`SEARCH_EF` to it.

        A configuration write (the vectors and the graph stay as they are), so writers make it,
        under the lock. Chroma applies it when a process next loads the index: at once in a
        process that has not searched the collection yet, else at its next start (a Chroma
        server's too).
        """
        # A fresh handle: a handle caches the configuration it was got with.
        current = self.client.get_collection(self.name, embedding_function=None)
        hnsw = (current.configuration or {}).get("hnsw")
        if hnsw and int(hnsw.get("ef_search") or 0) < SEARCH_EF:  # else wide, or not HNSW
            current.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})

    @_reached
    def upsert(self, chunks: Sequence[ChunkRecord]) -> None:
        """Store chunks' vectors and metadata, in batches Chroma accepts. A vector Chroma
        already holds under that id is not written again (only its metadata, if it changed).

        Why not: Chroma turns a rewritten vector into an in-place HNSW update, which can leave
        the record unreachable by search (chroma-core/chroma#7758, 1.5.9), and recovery
        rewrites a crashed writer's documents, most of whose vectors Chroma already holds.

        Without the chunk text: Docent reads text from its durable copy, and Chroma keeps a
        document's text twice (a copy and its full-text index), 7.7 KB a chunk instead of 2.7
        KB, and writes a third slower with it (bench/README.md, "Scale").
        """
        step = int(self.client.get_max_batch_size())
        for i in range(0, len(chunks), step):
            vectors, metadata = self._compare(chunks[i : i + step])
            if vectors:
                self.collection.upsert(
                    ids=[c.chunk_id for c in vectors],
                    embeddings=np.stack([c.vector for c in vectors]),
                    metadatas=[c.meta.to_chroma() for c in vectors],
                )
            if metadata:  # no embeddings: Chroma leaves the HNSW graph alone
                self.collection.update(
                    ids=[c.chunk_id for c in metadata],
                    metadatas=[c.meta.to_chroma() for c in metadata],
                )

    def _compare(
        self, chunks: Sequence[ChunkRecord]
    ) -> tuple[list[ChunkRecord], list[ChunkRecord]]:
        """Against what Chroma holds: the chunks whose vector it lacks (absent, or another
        vector), and those it holds with the same vector but other metadata."""
        held = self.collection.get(
            ids=[c.chunk_id for c in chunks], include=["embeddings", "metadatas"]
        )
        stored = {
            i: (np.asarray(v, dtype=np.float32), m)
            for i, v, m in zip(held["ids"], held["embeddings"], held["metadatas"], strict=True)
        }
        vectors, metadata = [], []
        for c in chunks:
            vector, meta = stored.get(c.chunk_id, (None, None))
            comparable = vector is not None and vector.shape == c.vector.shape
            if not comparable or not np.allclose(vector, c.vector, atol=1e-4):
                vectors.append(c)
            elif meta != c.meta.to_chroma():
                metadata.append(c)
        return vectors, metadata

    @_reached
    def delete_document(self, doc_id: str) -> None:
        """Remove every vector of a document."""
        self.collection.delete(where={"doc_id": doc_id})

    @_reached
    def delete_ids(self, ids: Sequence[str]) -> None:
        """Remove vectors by id."""
        if ids:
            self.collection.delete(ids=list(ids))

    @_reached
    def count(self) -> int:
        """Number of vectors (not proof that they are searchable: see docs/architecture.md)."""
        return int(self.collection.count())

    @_reached
    def ids(self) -> set[str]:
        """All ids in the collection."""
        return set(self.collection.get(include=[])["ids"])

    @_reached
    def query(
        self, vector: np.ndarray, n: int, skip_docs: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """The ``n`` nearest chunks to ``vector``: ``(chunk id, cosine similarity)``, best
        first, leaving out the chunks of ``skip_docs``."""
        if n <= 0:
            return []
        res = self.collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=n,
            include=["distances"],
            where={"doc_id": {"$nin": list(skip_docs)}} if skip_docs else None,
        )
        return [
            (cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)
        ]

    @_reached
    def findable(self, chunks: Sequence[ChunkRecord], n: int = 5) -> int:
        """How many ``chunks`` come back among the ``n`` nearest to their own vector."""
        if not chunks:
            return 0
        res = self.collection.query(
            query_embeddings=np.stack([c.vector for c in chunks]), n_results=n, include=[]
        )
        return sum(c.chunk_id in got for c, got in zip(chunks, res["ids"], strict=True))


class VectorStore:
    """A library's Chroma: one client, one :class:`VectorIndex` per collection.

    An embedded store lives in a folder of the data dir. After a crash damaged it, recovery
    builds a fresh folder from the durable copy and switches to it (:meth:`move_to`): Chroma's
    own files are never repaired in place, and its private caches are never touched.
    """

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings, self.folder = settings, folder
        self.client = open_client(settings, folder)
        self._indexes: dict[str, VectorIndex] = {}

    @property
    def embedded(self) -> bool:
        """True for a store in the data dir (not a Chroma server)."""
        return not self.settings.chroma_host

    @_reached
    def index(self, name: str, fingerprint: Fingerprint) -> VectorIndex:
        """The Chroma collection ``name`` (created if missing), checked against ``fingerprint``."""
        if name not in self._indexes:
            self._indexes[name] = VectorIndex(self.client, name, fingerprint)
        return self._indexes[name]

    @_reached
    def names(self) -> set[str]:
        """Collections Chroma holds."""
        return {c.name for c in self.client.list_collections()}

    def forget(self, name: str) -> None:
        """Drop this process's handle on collection ``name`` (Chroma's copy stays)."""
        self._indexes.pop(name, None)

    @_reached
    def drop(self, name: str) -> None:
        """Delete a Chroma collection (if it exists)."""
        self._indexes.pop(name, None)
        if name in self.names():
            self.client.delete_collection(name)

    def move_to(self, folder: Path) -> None:
        """Use an embedded store in another (new, empty) folder from now on."""
        self.folder, self.client, self._indexes = folder, open_client(self.settings, folder), {}
