"""Chroma: the client (embedded or server) and collections stamped with their embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.config import Settings
from rag.embeddings import Fingerprint

SPACE = "cosine"


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


def chroma_path(settings: Settings) -> str:
    """Folder of the embedded Chroma store."""
    return str(settings.data_dir / "chroma")


def open_client(settings: Settings) -> Any:
    """A Chroma client: ``HttpClient`` when a host is configured, else a ``PersistentClient``."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
                f" ({exc}); start it with `chroma run --path DIR --port {settings.chroma_port}` "
                "or unset DOCENT_CHROMA_HOST to use the embedded store"
            ) from exc
        return client
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=chroma_path(settings), settings=chroma_settings)


@dataclass
class Hit:
    """One nearest neighbour from Chroma."""

    chunk_id: str
    similarity: float  # cosine similarity, 1 = same direction
    text: str
    meta: dict[str, Any]


class VectorIndex:
    """One Chroma collection whose vectors all come from one embedding model."""

    def __init__(self, client: Any, name: str, fingerprint: Fingerprint) -> None:
        self.client, self.name, self.fingerprint = client, name, fingerprint
        self.collection = client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": SPACE}},
            metadata={**fingerprint.as_metadata(), "docent_space": SPACE},
            embedding_function=None,  # Chroma's default would download a model
        )
        stored = Fingerprint.from_metadata(self.collection.metadata)
        if stored is not None and stored != fingerprint:
            raise EmbeddingMismatchError(name, stored, fingerprint)

    def batch_size(self) -> int:
        """Largest batch Chroma accepts in one call."""
        return int(self.client.get_max_batch_size())

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metas: Sequence[dict[str, Any]],
    ) -> None:
        """Add or overwrite vectors, in batches Chroma accepts."""
        step = self.batch_size()
        for i in range(0, len(ids), step):
            self.collection.upsert(
                ids=list(ids[i : i + step]),
                embeddings=vectors[i : i + step],
                documents=list(texts[i : i + step]),
                metadatas=[_chroma_meta(m) for m in metas[i : i + step]],
            )

    def delete_document(self, doc_id: str) -> None:
        """Remove every vector of a document."""
        self.collection.delete(where={"doc_id": doc_id})

    def count(self) -> int:
        """Number of vectors (not proof that they are searchable: see DESIGN.md)."""
        return int(self.collection.count())

    def ids(self) -> set[str]:
        """All ids in the collection."""
        return set(self.collection.get(include=[])["ids"])

    def query(self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``n`` nearest chunks to ``vector`` (optionally filtered by metadata)."""
        if n <= 0:
            return []
        res = self.collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(cid, 1.0 - float(dist), text or "", dict(meta or {}))
            for cid, dist, text, meta in zip(
                res["ids"][0],
                res["distances"][0],
                res["documents"][0],
                res["metadatas"][0],
                strict=True,
            )
        ]

    def findable(self, ids: Sequence[str], vectors: np.ndarray, n: int = 5) -> int:
        """How many of ``ids`` come back among the ``n`` nearest to their own vector."""
        if not len(ids):
            return 0
        res = self.collection.query(query_embeddings=vectors, n_results=n, include=[])
        return sum(cid in got for cid, got in zip(ids, res["ids"], strict=True))


def _chroma_meta(meta: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Chroma metadata takes scalars only: lists become strings, ``None`` is dropped."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in meta.items():
        if value is None or key == "sentence_spans":  # spans stay in the durable copy only
            continue
        out[key] = " > ".join(map(str, value)) if isinstance(value, list) else value
    return out
