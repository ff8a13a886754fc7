"""Docent's own durable copy of every collection: documents, chunk text, metadata and vectors.

SQLite (WAL, one transaction per document) is the source of truth. Chroma and the BM25 index
are derived from it, so a Chroma index damaged by a crash can be rebuilt without re-reading or
re-embedding any file (DESIGN.md: Chroma embedded does not survive SIGKILL mid-write).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.embeddings import Fingerprint

DocState = Literal["pending", "ready", "deleting"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY, model TEXT NOT NULL, dimension INTEGER NOT NULL,
    normalized INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL, doc_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, size_bytes INTEGER NOT NULL,
    added_at REAL NOT NULL, state TEXT NOT NULL, PRIMARY KEY (collection, doc_id));
CREATE TABLE IF NOT EXISTS chunks (
    collection TEXT NOT NULL, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,
    text TEXT NOT NULL, meta TEXT NOT NULL, vector BLOB NOT NULL, sentences BLOB,
    PRIMARY KEY (collection, chunk_id));
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (collection, doc_id, idx);
"""


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


@dataclass
class ChunkRecord:
    """A chunk as stored: its text, metadata (source, page, heading path, span...) and vector."""

    chunk_id: str
    doc_id: str
    idx: int
    text: str
    meta: dict[str, Any]
    vector: np.ndarray
    # one unit row per sentence (float16), spans in ``meta["sentence_spans"]``; None: not computed
    sentence_vectors: np.ndarray | None = None


_CHUNK_COLUMNS = "chunk_id, doc_id, idx, text, meta, vector, sentences"


def _chunk(row: tuple[Any, ...]) -> ChunkRecord:
    cid, did, idx, text, meta, vec, sent = row
    vector = np.frombuffer(vec, dtype=np.float32)
    sentences = (
        None if sent is None else np.frombuffer(sent, dtype=np.float16).reshape(-1, len(vector))
    )
    return ChunkRecord(cid, did, idx, text, json.loads(meta), vector, sentences)


def _row(collection: str, c: ChunkRecord) -> tuple[Any, ...]:
    sentences = (
        None
        if c.sentence_vectors is None
        else np.asarray(c.sentence_vectors, dtype=np.float16).tobytes()
    )
    return (
        collection,
        c.chunk_id,
        c.doc_id,
        c.idx,
        c.text,
        json.dumps(c.meta),
        np.asarray(c.vector, dtype=np.float32).tobytes(),
        sentences,
    )


class DocStore:
    """The SQLite file ``<data dir>/docent.sqlite``; one per data dir, shared by collections."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(chunks)")}
        if "sentences" not in columns:  # stores made before sentence vectors existed
            self.db.execute("ALTER TABLE chunks ADD COLUMN sentences BLOB")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- collections ---------------------------------------------------------------------------
    def fingerprint(self, collection: str) -> Fingerprint | None:
        """The embedding fingerprint a collection was created with, or ``None`` if it is new."""
        row = self.db.execute(
            "SELECT model, dimension, normalized FROM collections WHERE name=?", (collection,)
        ).fetchone()
        return Fingerprint(row[0], int(row[1]), bool(row[2])) if row else None

    def set_fingerprint(self, collection: str, fp: Fingerprint) -> None:
        """Create the collection, or re-stamp it (after a re-index with another model)."""
        self.db.execute(
            "INSERT INTO collections VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
            "model=excluded.model, dimension=excluded.dimension, normalized=excluded.normalized",
            (collection, fp.model, fp.dimension, int(fp.normalized), time.time()),
        )

    def collections(self) -> list[str]:
        """Names of all collections, sorted."""
        return [r[0] for r in self.db.execute("SELECT name FROM collections ORDER BY name")]

    def drop_collection(self, collection: str) -> None:
        """Forget a collection and everything in it."""
        with self.transaction():
            for table in ("chunks", "documents"):
                self.db.execute(f"DELETE FROM {table} WHERE collection=?", (collection,))
            self.db.execute("DELETE FROM collections WHERE name=?", (collection,))

    # -- documents -----------------------------------------------------------------------------
    def transaction(self) -> sqlite3.Connection:
        """``with store.transaction():`` runs the block as one atomic SQLite transaction."""
        return _Transaction(self.db)  # type: ignore[return-value]

    def add_documents(
        self, collection: str, items: list[tuple[DocumentRecord, list[ChunkRecord]]]
    ) -> None:
        """Store documents with all their chunks in one transaction, in state ``pending``."""
        with self.transaction():
            for doc, chunks in items:
                self.db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        collection,
                        doc.doc_id,
                        doc.name,
                        doc.kind,
                        doc.pages,
                        doc.chunks,
                        doc.size_bytes,
                        doc.added_at,
                        "pending",
                    ),
                )
                self.db.execute(
                    "DELETE FROM chunks WHERE collection=? AND doc_id=?", (collection, doc.doc_id)
                )
                self.db.executemany(
                    "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                    [_row(collection, c) for c in chunks],
                )

    def set_state(self, collection: str, doc_ids: list[str], state: DocState) -> None:
        """Move documents to ``state`` in one transaction."""
        with self.transaction():
            self.db.executemany(
                "UPDATE documents SET state=? WHERE collection=? AND doc_id=?",
                [(state, collection, d) for d in doc_ids],
            )
            self.bump_generation(collection)

    def remove_document(self, collection: str, doc_id: str) -> None:
        """Delete a document's rows (call after its vectors left Chroma)."""
        with self.transaction():
            self.db.execute(
                "DELETE FROM chunks WHERE collection=? AND doc_id=?", (collection, doc_id)
            )
            self.db.execute(
                "DELETE FROM documents WHERE collection=? AND doc_id=?", (collection, doc_id)
            )

    def documents(self, collection: str, state: DocState | None = "ready") -> list[DocumentRecord]:
        """Documents of a collection (only ``state`` ones; ``None`` = all), oldest first."""
        sql = (
            "SELECT doc_id,name,kind,pages,chunks,size_bytes,added_at,state FROM documents "
            "WHERE collection=?"
        )
        args: tuple[Any, ...] = (collection,)
        if state is not None:
            sql, args = sql + " AND state=?", (collection, state)
        rows = self.db.execute(sql + " ORDER BY added_at, name", args).fetchall()
        return [DocumentRecord(*r) for r in rows]

    def has_unfinished(self) -> bool:
        """True if any document (any collection) is still ``pending`` or ``deleting``."""
        return (
            self.db.execute("SELECT 1 FROM documents WHERE state != 'ready' LIMIT 1").fetchone()
            is not None
        )

    def chunks(self, collection: str, doc_id: str | None = None) -> Iterator[ChunkRecord]:
        """Chunks of one document, or of the whole collection, in document order."""
        sql = f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE collection=?"
        args: tuple[Any, ...] = (collection,)
        if doc_id is not None:
            sql, args = sql + " AND doc_id=?", (collection, doc_id)
        for row in self.db.execute(sql + " ORDER BY doc_id, idx", args):
            yield _chunk(row)

    def chunk_count(self, collection: str) -> int:
        """Number of stored chunks in a collection (all states)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM chunks WHERE collection=?", (collection,)
        ).fetchone()[0]

    def sample_chunks(self, collection: str, n: int) -> list[ChunkRecord]:
        """Up to ``n`` random chunks of ready documents (for self-query checks)."""
        columns = ", ".join(f"c.{c.strip()}" for c in _CHUNK_COLUMNS.split(","))
        rows = self.db.execute(
            f"SELECT {columns} FROM chunks c JOIN documents d "
            "ON c.collection=d.collection AND c.doc_id=d.doc_id "
            "WHERE c.collection=? AND d.state='ready' ORDER BY RANDOM() LIMIT ?",
            (collection, n),
        ).fetchall()
        return [_chunk(r) for r in rows]

    def generation(self, collection: str) -> int:
        """The collection's change counter: derived indexes built at another value are stale."""
        value = self.get_meta(f"generation:{collection}")
        return int(value) if value else 0

    def bump_generation(self, collection: str) -> None:
        """Count one change to a collection (call inside the changing transaction)."""
        self.db.execute(
            "INSERT INTO meta VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + 1",
            (f"generation:{collection}",),
        )

    def ready_passages(
        self, collection: str
    ) -> tuple[list[str], list[str], list[str], list[list[str]]]:
        """Chunk ids, document ids, texts and heading paths of the ready documents' chunks."""
        rows = self.db.execute(
            "SELECT c.chunk_id, c.doc_id, c.text, c.meta FROM chunks c JOIN documents d "
            "ON c.collection=d.collection AND c.doc_id=d.doc_id "
            "WHERE c.collection=? AND d.state='ready' ORDER BY c.doc_id, c.idx",
            (collection,),
        ).fetchall()
        return (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [json.loads(r[3]).get("headings") or [] for r in rows],
        )

    def get_chunks(self, collection: str, chunk_ids: list[str]) -> dict[str, ChunkRecord]:
        """Chunks by id (missing ids are left out)."""
        out: dict[str, ChunkRecord] = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE collection=? AND chunk_id IN ({marks})",
                (collection, *part),
            ):
                out[row[0]] = _chunk(row)
        return out

    def ready_doc_ids(self, collection: str) -> set[str]:
        """Ids of the documents a search may return."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT doc_id FROM documents WHERE collection=? AND state='ready'", (collection,)
            )
        }

    # -- flags ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value from the key/value ``meta`` table."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with ``None`` remove) a ``meta`` value; durable when this returns."""
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK around a block (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
