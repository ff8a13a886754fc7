"""Docent's own durable copy of every collection: documents, chunk text, metadata and vectors.

This copy is the source of truth. Chroma and the BM25 index are derived from it, so a Chroma
index damaged by a crash is rebuilt from here without re-reading or re-embedding any file
(Chroma embedded does not survive a SIGKILL mid-write: docs/architecture.md). Every query
Docent sends the database is in this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, Row, and_, bindparam, func, select

from rag.access import Grant
from rag.chunks import ChunkMeta, ChunkRecord
from rag.database import (
    Database,
    chunks_table,
    collections_table,
    documents_table,
    grants_table,
    meta_table,
)
from rag.embeddings import Fingerprint

# "writing": a large document stored a part at a time, not all of it yet (recovery removes it);
# "pending": all of it stored, its vectors maybe not all in Chroma (recovery finishes it)
DocState = Literal["writing", "pending", "ready", "deleting"]
CHROMA_DIRTY = "chroma_dirty"
_BATCH = 500  # ids per IN (...) list


@dataclass
class DocumentRecord:
    """One indexed file (a version of it: the id is the hash of its bytes)."""

    doc_id: str
    name: str
    kind: str
    pages: int
    chunks: int
    size_bytes: int
    added_at: float = field(default_factory=time.time)
    state: DocState = "pending"


def pack_vector(vector: np.ndarray) -> bytes:
    """A passage vector as stored (float32)."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def pack_sentences(vectors: np.ndarray | None) -> bytes | None:
    """Sentence vectors as stored (float16: they rank sentences, small errors don't matter)."""
    return None if vectors is None else np.asarray(vectors, dtype=np.float16).tobytes()


def _chunk(row: Row[Any]) -> ChunkRecord:
    vector = np.frombuffer(row.vector, dtype=np.float32)
    sentences = (
        None
        if row.sentences is None
        else np.frombuffer(row.sentences, dtype=np.float16).reshape(-1, len(vector))
    )
    return ChunkRecord(row.chunk_id, row.text, ChunkMeta.from_json(row.meta), vector, sentences)


_CHUNK_COLUMNS = (
    chunks_table.c.chunk_id,
    chunks_table.c.text,
    chunks_table.c.meta,
    chunks_table.c.vector,
    chunks_table.c.sentences,
)


class DocStore:
    """The whole durable store: the collections in it and a few store-wide flags."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def rows(self, collection: str) -> CollectionRows:
        """One collection's rows (nothing is read or created yet)."""
        return CollectionRows(self.db, collection)

    def collections(self) -> list[str]:
        """Names of all collections, sorted."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(collections_table.c.name).order_by(collections_table.c.name)
                ).scalars()
            )

    def owners(self) -> dict[str, str | None]:
        """Every collection's owner (None: made before accounts)."""
        c = collections_table.c
        with self.db.read() as conn:
            return dict(conn.execute(select(c.name, c.owner)).tuples().all())

    def grants(self) -> dict[str, dict[str, Grant]]:
        """Every collection's grants: collection -> {grantee: reader | writer}."""
        g = grants_table.c
        out: dict[str, dict[str, Grant]] = {}
        with self.db.read() as conn:
            for row in conn.execute(select(g.collection, g.grantee, g.role)):
                out.setdefault(row.collection, {})[row.grantee] = row.role
        return out

    def drop_collection(self, collection: str) -> None:
        """Forget a collection and everything in it, in one transaction."""
        with self.db.write() as conn:
            conn.execute(
                meta_table.delete().where(meta_table.c.key == f"{CHROMA_DIRTY}:{collection}")
            )
            conn.execute(grants_table.delete().where(grants_table.c.collection == collection))
            conn.execute(chunks_table.delete().where(chunks_table.c.collection == collection))
            conn.execute(documents_table.delete().where(documents_table.c.collection == collection))
            conn.execute(collections_table.delete().where(collections_table.c.name == collection))

    def has_unfinished(self, collection: str | None = None) -> bool:
        """True if a document (of ``collection``, or of any) is still pending or deleting."""
        d = documents_table.c
        query = select(d.doc_id).where(d.state != "ready")
        if collection is not None:
            query = query.where(d.collection == collection)
        with self.db.read() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def get_flag(self, key: str) -> str | None:
        """A store-wide value (e.g. the "Chroma is being written" mark)."""
        with self.db.read() as conn:
            return conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == key)
            ).scalar_one_or_none()

    def set_flag(self, key: str, value: str | None) -> None:
        """Set (or with ``None`` clear) a store-wide value; durable when this returns."""
        with self.db.write() as conn:
            conn.execute(meta_table.delete().where(meta_table.c.key == key))
            if value is not None:
                conn.execute(meta_table.insert().values(key=key, value=value))

    @contextmanager
    def chroma_writing(self, collection: str) -> Iterator[None]:
        """Mark ``collection``'s vectors as being written for the block, so a crash inside it
        is detected.

        The mark is cleared only when the block ends normally: after an error it stays, and
        the next writer checks the vector index before trusting it.
        """
        self.set_flag(f"{CHROMA_DIRTY}:{collection}", str(time.time()))
        yield
        self.set_flag(f"{CHROMA_DIRTY}:{collection}", None)

    def chroma_dirty(self, collection: str | None = None) -> bool:
        """A writer died (or failed) in the middle of a Chroma write (to ``collection``, or
        to any)."""
        m = meta_table.c
        key = f"{CHROMA_DIRTY}:{collection}" if collection else f"{CHROMA_DIRTY}:%"
        with self.db.read() as conn:
            return conn.execute(select(m.key).where(m.key.like(key)).limit(1)).first() is not None

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()


class CollectionRows:
    """The rows of one collection: documents, chunks, fingerprint and change counter."""

    def __init__(self, db: Database, collection: str) -> None:
        self.db, self.name = db, collection

    # -- the collection ------------------------------------------------------------------------
    def fingerprint(self) -> Fingerprint | None:
        """The embedding fingerprint the collection was made with, or ``None`` if it is new."""
        c = collections_table.c
        with self.db.read() as conn:
            row = conn.execute(
                select(c.model, c.dimension, c.normalized).where(c.name == self.name)
            ).first()
        return Fingerprint(row.model, int(row.dimension), bool(row.normalized)) if row else None

    def access(self) -> tuple[bool, str | None, dict[str, Grant]]:
        """Whether the collection exists, its owner and its grants (grantee -> role)."""
        c, g = collections_table.c, grants_table.c
        with self.db.read() as conn:
            row = conn.execute(select(c.owner).where(c.name == self.name)).first()
            grants = conn.execute(
                select(g.grantee, g.role).where(g.collection == self.name)
            ).tuples()
            return row is not None, row.owner if row else None, dict(grants.all())

    def set_grant(self, grantee: str, role: Grant | None) -> None:
        """Share with ``grantee`` (a user name or ``*``) as ``role``; None takes it back."""
        g = grants_table.c
        with self.db.write() as conn:
            key = (g.collection == self.name) & (g.grantee == grantee)
            conn.execute(grants_table.delete().where(key))
            if role is not None:
                conn.execute(
                    grants_table.insert().values(collection=self.name, grantee=grantee, role=role)
                )

    def set_fingerprint(
        self, fp: Fingerprint, conn: Connection | None = None, owner: str | None = None
    ) -> None:
        """Create the collection (owned by ``owner``), or re-stamp it after a re-index."""
        if conn is None:
            with self.db.write() as conn:
                return self.set_fingerprint(fp, conn, owner)
        values = {"model": fp.model, "dimension": fp.dimension, "normalized": int(fp.normalized)}
        c = collections_table.c
        updated = conn.execute(collections_table.update().where(c.name == self.name).values(values))
        if not updated.rowcount:
            conn.execute(
                collections_table.insert().values(
                    name=self.name, created_at=time.time(), generation=0, owner=owner, **values
                )
            )
        return None

    def generation(self) -> int:
        """The change counter: indexes derived at another value are stale."""
        c = collections_table.c
        with self.db.read() as conn:
            value = conn.execute(select(c.generation).where(c.name == self.name)).scalar()
        return int(value or 0)

    def _bump(self, conn: Connection) -> None:
        c = collections_table.c
        conn.execute(
            collections_table.update()
            .where(c.name == self.name)
            .values(generation=c.generation + 1)
        )

    # -- documents -----------------------------------------------------------------------------
    def documents(self, state: DocState | None = "ready") -> list[DocumentRecord]:
        """Documents (only ``state`` ones; ``None`` = all), oldest first."""
        d = documents_table.c
        query = select(
            d.doc_id, d.name, d.kind, d.pages, d.chunks, d.size_bytes, d.added_at, d.state
        ).where(d.collection == self.name)
        if state is not None:
            query = query.where(d.state == state)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(d.added_at, d.name)).all()
        return [DocumentRecord(*r) for r in rows]

    def add_pending(
        self,
        items: Sequence[tuple[DocumentRecord, Sequence[ChunkRecord]]],
        state: Literal["pending", "writing"] = "pending",
    ) -> None:
        """Store documents with their chunks in one transaction, not yet visible (``writing``:
        more chunks follow through :meth:`add_chunks`)."""
        d, c = documents_table.c, chunks_table.c
        with self.db.write() as conn:
            for doc, chunks in items:
                key = (d.collection == self.name) & (d.doc_id == doc.doc_id)
                conn.execute(documents_table.delete().where(key))
                conn.execute(
                    chunks_table.delete().where(
                        (c.collection == self.name) & (c.doc_id == doc.doc_id)
                    )
                )
                conn.execute(
                    documents_table.insert().values(
                        collection=self.name,
                        doc_id=doc.doc_id,
                        name=doc.name,
                        kind=doc.kind,
                        pages=doc.pages,
                        chunks=doc.chunks,
                        size_bytes=doc.size_bytes,
                        added_at=doc.added_at,
                        state=state,
                    )
                )
                if chunks:
                    conn.execute(chunks_table.insert(), [self._row(ch) for ch in chunks])

    def add_chunks(self, chunks: Sequence[ChunkRecord]) -> None:
        """Store more chunks of a document being written in parts (one transaction)."""
        if chunks:
            with self.db.write() as conn:
                conn.execute(chunks_table.insert(), [self._row(ch) for ch in chunks])

    def _row(self, chunk: ChunkRecord) -> dict[str, Any]:
        return {
            "collection": self.name,
            "chunk_id": chunk.chunk_id,
            "doc_id": chunk.doc_id,
            "idx": chunk.meta.index,
            "text": chunk.text,
            "meta": chunk.meta.to_json(),
            "vector": pack_vector(chunk.vector),
            "sentences": pack_sentences(chunk.sentence_vectors),
        }

    def publish(self, ready: Sequence[str], retire: Sequence[str]) -> None:
        """Make documents visible and mark the versions they replace for deletion, atomically."""
        with self.db.write() as conn:
            self._set_state(conn, ready, "ready")
            self._set_state(conn, retire, "deleting")
            self._bump(conn)

    def set_state(self, doc_ids: Sequence[str], state: DocState) -> None:
        """Move documents to ``state`` in one transaction (a change readers must see)."""
        with self.db.write() as conn:
            self._set_state(conn, doc_ids, state)
            self._bump(conn)

    def _set_state(self, conn: Connection, doc_ids: Sequence[str], state: DocState) -> None:
        if not doc_ids:
            return
        d = documents_table.c
        conn.execute(
            documents_table.update()
            .where((d.collection == self.name) & (d.doc_id == bindparam("id")))
            .values(state=state),
            [{"id": doc_id} for doc_id in doc_ids],
        )

    def remove_document(self, doc_id: str) -> None:
        """Delete a document's rows (call once its vectors left Chroma)."""
        d, c = documents_table.c, chunks_table.c
        with self.db.write() as conn:
            conn.execute(
                chunks_table.delete().where((c.collection == self.name) & (c.doc_id == doc_id))
            )
            conn.execute(
                documents_table.delete().where((d.collection == self.name) & (d.doc_id == doc_id))
            )

    # -- chunks --------------------------------------------------------------------------------
    def chunks(self, doc_id: str | None = None) -> Iterator[ChunkRecord]:
        """Chunks of one document or of the whole collection (any state), in document order."""
        c = chunks_table.c
        query = select(*_CHUNK_COLUMNS).where(c.collection == self.name)
        if doc_id is not None:
            query = query.where(c.doc_id == doc_id)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(c.doc_id, c.idx)).all()
        for row in rows:
            yield _chunk(row)

    def chunk_ids(self) -> set[str]:
        """Ids of every stored chunk (any state)."""
        c = chunks_table.c
        with self.db.read() as conn:
            return set(conn.execute(select(c.chunk_id).where(c.collection == self.name)).scalars())

    def chunk_count(self) -> int:
        """Number of stored chunks (any state)."""
        c = chunks_table.c
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(chunks_table).where(c.collection == self.name)
                ).scalar_one()
            )

    def load(self, chunk_ids: Sequence[str], ready_only: bool = True) -> dict[str, ChunkRecord]:
        """Chunks by id, with their vectors (missing ids, and by default unready ones, left out).

        This is the one read of chunk vectors a question makes.
        """
        out: dict[str, ChunkRecord] = {}
        with self.db.read() as conn:
            for start in range(0, len(chunk_ids), _BATCH):
                part = list(chunk_ids[start : start + _BATCH])
                for row in conn.execute(
                    self._select_ready(ready_only).where(chunks_table.c.chunk_id.in_(part))
                ):
                    out[row.chunk_id] = _chunk(row)
        return out

    def sample(self, n: int) -> list[ChunkRecord]:
        """Up to ``n`` random chunks of ready documents (for self-query checks)."""
        with self.db.read() as conn:
            rows = conn.execute(self._select_ready(True).order_by(func.random()).limit(n)).all()
        return [_chunk(r) for r in rows]

    def ready_sizes(self) -> dict[str, int]:
        """Chunks per ready document (what BM25 compares its segments with)."""
        d = documents_table.c
        query = select(d.doc_id, d.chunks).where(d.collection == self.name, d.state == "ready")
        with self.db.read() as conn:
            return {r.doc_id: int(r.chunks) for r in conn.execute(query)}

    def ready_texts(
        self, doc_ids: Sequence[str] | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        """Chunk ids, doc ids and indexed text (heading prefix + text) of ready chunks, of
        ``doc_ids`` (default: every ready document), for BM25."""
        c = chunks_table.c
        query = (
            select(c.chunk_id, c.doc_id, c.text, c.meta)
            .join(documents_table, self._ready_join())
            .where(c.collection == self.name, documents_table.c.state == "ready")
            .order_by(c.doc_id, c.idx)
        )
        rows: list[Any] = []
        with self.db.read() as conn:
            if doc_ids is None:
                rows = conn.execute(query).all()
            else:
                ids = list(doc_ids)
                for start in range(0, len(ids), _BATCH):
                    part = ids[start : start + _BATCH]
                    rows += conn.execute(query.where(c.doc_id.in_(part))).all()
        texts = [ChunkMeta.from_json(r.meta).embed_text(r.text) for r in rows]
        return [r.chunk_id for r in rows], [r.doc_id for r in rows], texts

    def replace_vectors(self, chunks: Sequence[ChunkRecord], fp: Fingerprint) -> None:
        """New vectors for existing chunks and the new fingerprint, in one transaction."""
        c = chunks_table.c
        update = (
            chunks_table.update()
            .where((c.collection == self.name) & (c.chunk_id == bindparam("id")))
            .values(vector=bindparam("v"), sentences=bindparam("s"))
        )
        rows = [
            {
                "id": ch.chunk_id,
                "v": pack_vector(ch.vector),
                "s": pack_sentences(ch.sentence_vectors),
            }
            for ch in chunks
        ]
        with self.db.write() as conn:
            if rows:
                conn.execute(update, rows)
            self.set_fingerprint(fp, conn)
            self._bump(conn)

    def _ready_join(self) -> Any:
        c, d = chunks_table.c, documents_table.c
        return and_(c.collection == d.collection, c.doc_id == d.doc_id)

    def _select_ready(self, ready_only: bool) -> Any:
        c = chunks_table.c
        query = select(*_CHUNK_COLUMNS).where(c.collection == self.name)
        if ready_only:
            query = query.join(documents_table, self._ready_join()).where(
                documents_table.c.state == "ready"
            )
        return query
