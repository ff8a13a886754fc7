"""A data dir's collections: the durable copy (SQLite) kept in step with Chroma.

Every change follows one order so that a crash at any point can be finished or undone:
write the document to SQLite as ``pending`` (one transaction) -> mark Chroma dirty -> upsert its
vectors -> mark it ``ready`` and any replaced version ``deleting`` (one transaction) -> delete
those from Chroma and SQLite -> clear the dirty mark. Searches only trust ``ready`` documents.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from rag.config import Settings, check_collection_name
from rag.docstore import ChunkRecord, DocStore, DocumentRecord
from rag.embeddings import Fingerprint, passage_text
from rag.lexical import LexicalIndex
from rag.lock import StoreBusyError, WriterLock
from rag.probe import probe_store
from rag.store import EmbeddingMismatchError, VectorIndex, chroma_path, open_client

DIRTY = "chroma_dirty"
MIN_FINDABLE = 0.95  # share of sampled chunks that must come back for their own vector


class Library:
    """Documents and vectors of every collection in one data dir (or one Chroma server)."""

    def __init__(self, settings: Settings, fingerprint: Fingerprint) -> None:
        """Open the durable copy; Chroma itself is opened lazily, after any crash recovery.

        Args:
            settings: where the data lives and which Chroma to use.
            fingerprint: the configured embedder's fingerprint; collections made with another
                model are refused (:class:`EmbeddingMismatchError`).
        """
        self.settings = settings
        self.fingerprint = fingerprint
        self.docs = DocStore(settings.data_dir / "docent.sqlite")
        self._lock = WriterLock(settings.data_dir / "writer.lock")
        self._thread_lock = threading.RLock()
        self._client: Any = None
        self._indexes: dict[str, VectorIndex] = {}
        self._lexical: dict[str, LexicalIndex] = {}
        self.recovered: list[str] = []  # what the last recovery did, for logs and tests

    # -- Chroma ------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Chroma client (opened on first use, after recovering from any crash)."""
        if self._client is None:
            if self._needs_recovery() and not self._lock_held():
                try:
                    with self.writing():
                        pass  # writing() recovers
                except StoreBusyError:
                    pass  # a live writer is at work; it owns the store's state
            if self._client is None:
                self._client = open_client(self.settings)
        return self._client

    def index(self, collection: str) -> VectorIndex:
        """The Chroma collection ``collection``, checked against the configured model."""
        check_collection_name(collection)
        stored = self.docs.fingerprint(collection)
        if stored is not None and stored != self.fingerprint:
            raise EmbeddingMismatchError(collection, stored, self.fingerprint)
        if collection not in self._indexes:
            self._indexes[collection] = VectorIndex(self.client, collection, self.fingerprint)
        return self._indexes[collection]

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the data dir's writer lock; finishes any crashed writer's work first.

        Raises:
            StoreBusyError: another process or session is writing.
        """
        # Another session of this process writing must not make this one wait (a hang in the UI).
        if not self._thread_lock.acquire(blocking=False):
            raise StoreBusyError(
                "the store is busy: another session is adding or deleting "
                "documents. Try again when it has finished."
            )
        try:
            if self._lock_held():
                yield
                return
            with self._lock:
                self._recover()
                yield
        finally:
            self._thread_lock.release()

    def _lock_held(self) -> bool:
        return self._lock._fd is not None

    @contextmanager
    def chroma_writing(self) -> Iterator[None]:
        """Mark Chroma dirty for the duration of a write, so a crash inside it is detected."""
        self.docs.set_meta(DIRTY, str(time.time()))
        yield
        self.docs.set_meta(DIRTY, None)

    def add_document(
        self, collection: str, doc: DocumentRecord, chunks: list[ChunkRecord]
    ) -> list[str]:
        """Store one document; returns the ids of older versions (same name) it replaced."""
        return self.add_documents(collection, [(doc, chunks)])[0]

    def add_documents(
        self, collection: str, items: list[tuple[DocumentRecord, list[ChunkRecord]]]
    ) -> list[list[str]]:
        """Store documents (each all-or-nothing); per document, the old versions it replaced."""
        with self.writing():
            index = self.index(collection)
            if self.docs.fingerprint(collection) is None:
                self.docs.set_fingerprint(collection, self.fingerprint)
            current = self.docs.documents(collection)
            replaced = [_older_versions(current, doc) for doc, _ in items]
            self.docs.add_documents(collection, items)
            with self.chroma_writing():
                self._upsert(index, [c for _, chunks in items for c in chunks])
                self._publish(
                    collection,
                    [doc.doc_id for doc, _ in items],
                    [d for old in replaced for d in old],
                )
            return replaced

    def delete_document(self, collection: str, doc_id: str) -> None:
        """Remove a document from Chroma, then from the durable copy."""
        with self.writing():
            self.docs.set_state(collection, [doc_id], "deleting")
            with self.chroma_writing():
                self._purge(collection, [doc_id])

    def reset_index(self, collection: str) -> VectorIndex:
        """Drop and re-create a collection's Chroma index (empty); the durable copy stays."""
        self._drop_index(collection)
        return self.index(collection)

    def _drop_index(self, collection: str) -> None:
        if collection in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(collection)
        self._indexes.pop(collection, None)

    def delete_collection(self, collection: str) -> None:
        """Drop a whole collection (Chroma and durable copy)."""
        with self.writing(), self.chroma_writing():
            self._drop_index(collection)
            self.docs.drop_collection(collection)

    def _publish(self, collection: str, doc_ids: list[str], replaced: list[str]) -> None:
        """Make ``doc_ids`` visible and retire the versions they replace, atomically."""
        with self.docs.transaction() as db:
            db.executemany(
                "UPDATE documents SET state='ready' WHERE collection=? AND doc_id=?",
                [(collection, d) for d in doc_ids],
            )
            db.executemany(
                "UPDATE documents SET state='deleting' WHERE collection=? AND doc_id=?",
                [(collection, d) for d in replaced],
            )
            self.docs.bump_generation(collection)
        self._purge(collection, replaced)

    def _purge(self, collection: str, doc_ids: list[str]) -> None:
        for doc_id in doc_ids:
            self.index(collection).delete_document(doc_id)
            self.docs.remove_document(collection, doc_id)

    @staticmethod
    def _upsert(index: VectorIndex, chunks: list[ChunkRecord]) -> None:
        if chunks:
            index.upsert(
                [c.chunk_id for c in chunks],
                np.stack([c.vector for c in chunks]),
                [c.text for c in chunks],
                [c.meta for c in chunks],
            )

    def lexical(self, collection: str) -> LexicalIndex:
        """The collection's BM25 index, brought up to date if the collection changed."""
        index = self._lexical.get(collection)
        if index is None:
            index = self._lexical[collection] = LexicalIndex(
                self.settings.data_dir / "bm25" / collection
            )

        def corpus() -> tuple[list[str], list[str], list[str]]:
            ids, doc_ids, texts, headings = self.docs.ready_passages(collection)
            return ids, doc_ids, [passage_text(t, h) for t, h in zip(texts, headings, strict=True)]

        index.ensure(self.docs.generation(collection), corpus)
        return index

    # -- reading -----------------------------------------------------------------------------
    def collections(self) -> list[str]:
        """Collections that hold (or held) documents."""
        return self.docs.collections()

    def documents(self, collection: str) -> list[DocumentRecord]:
        """Ready documents of a collection, oldest first."""
        return self.docs.documents(collection)

    # -- recovery ----------------------------------------------------------------------------
    def _recover(self) -> None:
        """Bring Chroma back in step with the durable copy after a crashed writer."""
        self.recovered = []
        if not self._needs_recovery():
            return
        collections = self.collections()
        if self.docs.get_meta(DIRTY) is not None:  # killed inside a Chroma write
            healthy = self._client is None and self._probe_ok(collections)
            if not healthy and self._client is not None:
                healthy = all(self._findable_share(c) >= MIN_FINDABLE for c in collections)
            if not healthy:
                self._rebuild(collections)
        with self.chroma_writing():
            for collection in collections:
                self._finish_pending(collection)
        self.recovered.append("finished interrupted writes")

    def _needs_recovery(self) -> bool:
        """A writer died: Chroma was mid-write, or documents were left half-way."""
        return self.docs.get_meta(DIRTY) is not None or self.docs.has_unfinished()

    def _probe_ok(self, collections: list[str]) -> bool:
        """Open the store in a child process first: a damaged index may segfault."""
        report = probe_store(self.settings, collections)
        self.recovered.append(f"probe: {report.summary()}")
        return report.ok(MIN_FINDABLE)

    def _findable_share(self, collection: str) -> float:
        sample = self.docs.sample_chunks(collection, 50)
        if not sample:
            return 1.0
        found = self.index(collection).findable(
            [c.chunk_id for c in sample], np.stack([c.vector for c in sample])
        )
        return found / len(sample)

    def _rebuild(self, collections: list[str]) -> None:
        """Throw away Chroma's files (derived data) and re-add every vector from SQLite."""
        self.recovered.append("rebuilt the vector index from the durable copy")
        self._indexes.clear()
        if self.settings.chroma_host:
            for name in collections:
                self._drop_index(name)
        else:
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
            self._client = None
            folder = chroma_path(self.settings)
            broken = f"{folder}.broken-{int(time.time())}"
            shutil.move(folder, broken)
            shutil.rmtree(broken, ignore_errors=True)
            self._client = open_client(self.settings)
        for name in collections:
            self.refill(name)

    def refill(self, collection: str) -> None:
        """Upsert every stored vector of a collection into Chroma, one document at a time."""
        index = self.index(collection)
        for doc in self.docs.documents(collection, state=None):
            self._upsert(index, list(self.docs.chunks(collection, doc.doc_id)))

    def _finish_pending(self, collection: str) -> None:
        """Complete interrupted adds, replacements and deletions; drop stray vectors."""
        index = self.index(collection)
        for doc in self.docs.documents(collection, state="deleting"):
            self._purge(collection, [doc.doc_id])
        for doc in self.docs.documents(collection, state="pending"):
            self._upsert(index, list(self.docs.chunks(collection, doc.doc_id)))
            old = _older_versions(self.docs.documents(collection), doc)
            self._publish(collection, [doc.doc_id], old)
        wanted = {c.chunk_id for c in self.docs.chunks(collection)}
        present = index.ids()
        if present - wanted:
            index.collection.delete(ids=list(present - wanted))
        missing = list(wanted - present)
        if missing:
            self._upsert(index, list(self.docs.get_chunks(collection, missing).values()))

    def close(self) -> None:
        """Release the lock and the SQLite connection."""
        self._lock.release()
        self.docs.close()


def _older_versions(ready: list[DocumentRecord], doc: DocumentRecord) -> list[str]:
    """Ids of the other ready versions of ``doc``'s file name (the ones it replaces)."""
    return [d.doc_id for d in ready if d.name == doc.name and d.doc_id != doc.doc_id]
