"""A handle on one collection: its fingerprint, vector index, BM25 index and durable rows.

Every change follows one order, so a crash at any point can be finished or undone: write the
documents to the durable store as ``pending`` (one transaction) -> mark Chroma dirty -> upsert
their vectors -> mark them ``ready`` and the versions they replace ``deleting`` (one
transaction) -> delete those from Chroma and the store -> clear the dirty mark. Searches only
return chunks of ``ready`` documents.

A large document is written a part at a time instead (only one part's vectors are held in
memory): its row as ``writing``, then each part's chunks and vectors, then ``ready`` as above. A
crash before the last part leaves a document recovery cannot finish, so recovery removes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress

import chromadb.errors
import numpy as np

from rag.access import Role, User, require, role_of
from rag.chunks import ChunkRecord
from rag.docstore import CollectionRows, DocStore, DocumentRecord
from rag.embeddings import Fingerprint
from rag.lexical import LexicalIndex
from rag.lock import StoreBusyError
from rag.vectors import VectorIndex, VectorStore

log = logging.getLogger(__name__)

Writing = Callable[[], AbstractContextManager[None]]


class Collection:
    """One collection of a library, as one user sees it (see :meth:`rag.library.Library.open`).

    Reading needs the ``read`` right (checked when the handle is made); every change checks
    ``write`` (:mod:`rag.access`).
    """

    def __init__(
        self,
        name: str,
        fingerprint: Fingerprint,
        store: DocStore,
        vectors: VectorStore,
        lexical: LexicalIndex,
        writing: Writing,
        user: User,
        role: Role,
    ) -> None:
        self.name, self.fingerprint, self.user, self.role = name, fingerprint, user, role
        self.rows: CollectionRows = store.rows(name)
        self._store, self._vectors, self._lexical, self._writing = store, vectors, lexical, writing

    @property
    def index(self) -> VectorIndex:
        """The collection's Chroma index (created empty if it does not exist yet)."""
        return self._vectors.index(self.name, self.fingerprint)

    # -- reading -------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        """Ready documents, oldest first."""
        return self.rows.documents()

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ``n`` chunks nearest to ``vector``: ``(chunk id, cosine)``, best first.

        Fewer than ``n`` is checked: if Chroma holds fewer vectors than the collection's
        ready chunks (its collection was deleted or emptied outside Docent, or a server lost
        its data), the vectors are put back from the durable copy first, rather than
        answering from BM25 alone without a word.

        A large document still being written in parts is left out in Chroma, not after: its
        many chunks would otherwise crowd the ready ones out of the ``n`` for the whole write.
        """
        skip = [d.doc_id for d in self.rows.documents(state="writing")]
        try:
            found = self.index.query(vector, n, skip)
        except chromadb.errors.NotFoundError:  # deleted under this handle: a fresh one
            self._vectors.forget(self.name)
            found = self.index.query(vector, n, skip)
        if len(found) < n and self._vectors_missing() and self._restore_vectors():
            found = self.index.query(vector, n, skip)
        return found

    def _vectors_missing(self) -> bool:
        # Every ready chunk's vector is in Chroma (written before the chunk is made ready,
        # removed after it stops being ready), so fewer vectors than ready chunks is a loss.
        return self.index.count() < sum(d.chunks for d in self.rows.documents())

    def _restore_vectors(self) -> bool:
        """Refill Chroma from the durable copy under the writer lock; False if a writer holds
        it (the next search tries again)."""
        try:
            with self._writing():
                if self._vectors_missing():
                    log.warning("Chroma lost vectors of %r: restoring them", self.name)
                    with self._store.chroma_writing(self.name):
                        self.refill()
        except StoreBusyError:
            return False
        return True

    def bm25(self, query: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` best BM25 matches: ``(chunk id, score)``, best first."""
        return self.lexical().search(query, n)

    def lexical(self) -> LexicalIndex:
        """The BM25 index, brought up to date first if the collection changed (one cheap read)."""
        self._lexical.ensure(self.rows.generation(), self.rows)
        return self._lexical

    def load(self, chunk_ids: Sequence[str]) -> dict[str, ChunkRecord]:
        """Chunks of ready documents by id, with their vectors: one read of the durable store."""
        return self.rows.load(chunk_ids)

    # -- writing -------------------------------------------------------------------------------
    def writing(self) -> AbstractContextManager[None]:
        """Hold the library's writer lock for a block of several changes (re-entrant).

        Raises:
            StoreBusyError: another process or session is writing.
        """
        return self._writing()

    def check_writable(self) -> None:
        """Fail now, before any file is read, if the user may not change this collection.

        Raises:
            AccessDenied: a reader (or no role at all).
        """
        require(self.user, self.role, "write", self.name)

    def check_vectors(self) -> None:
        """Fail now if Chroma's copy was made with another model (a shared server, say).

        Raises:
            EmbeddingMismatchError: the Chroma collection is stamped with another fingerprint.
        """
        _ = self.index

    def add_documents(
        self, items: Sequence[tuple[DocumentRecord, Sequence[ChunkRecord]]]
    ) -> list[list[str]]:
        """Store documents, each all-or-nothing; per document, the old versions it replaced.

        Raises:
            StoreBusyError: another process or session is writing.
        """
        require(self.user, self.role, "write", self.name)
        with self._writing():
            index = self.index  # before any row: a model mismatch in Chroma stops it here
            self._claim()
            current = self.rows.documents()
            replaced = [older_versions(current, doc) for doc, _ in items]
            self.rows.add_pending(items)
            with self._store.chroma_writing(self.name):
                index.upsert([c for _, chunks in items for c in chunks])
                self._publish(
                    [doc.doc_id for doc, _ in items], [d for old in replaced for d in old]
                )
            return replaced

    def add_document_in_parts(
        self, doc: DocumentRecord, parts: Iterable[Sequence[ChunkRecord]]
    ) -> list[str]:
        """Store one large document a part at a time; the old versions it replaced.

        ``parts`` may embed lazily: only one part's vectors are held at once. The document is
        invisible until its last part is stored; if a part fails, what was stored is removed.

        Raises:
            StoreBusyError: another process or session is writing.
        """
        require(self.user, self.role, "write", self.name)
        with self._writing():
            index = self.index  # before any row: a model mismatch in Chroma stops it here
            self._claim()
            replaced = older_versions(self.rows.documents(), doc)
            self.rows.add_pending([(doc, [])], state="writing")
            try:
                for part in parts:
                    self.rows.add_chunks(part)
                    with self._store.chroma_writing(self.name):
                        index.upsert(part)
            except BaseException:
                # Best effort: if Chroma is down too, recovery removes it at the next write.
                with suppress(Exception), self._store.chroma_writing(self.name):
                    self._purge([doc.doc_id])
                raise
            with self._store.chroma_writing(self.name):
                self._publish([doc.doc_id], replaced)
            return replaced

    def delete_document(self, doc_id: str) -> None:
        """Remove a document from Chroma, then from the durable store.

        Raises:
            AccessDenied: the user may not change this collection.
        """
        require(self.user, self.role, "write", self.name)
        with self._writing():
            self._claim()
            self.rows.set_state([doc_id], "deleting")
            with self._store.chroma_writing(self.name):
                self._purge([doc_id])

    def _claim(self) -> None:
        """Under the lock: create the collection for this user, or check the right to write
        again (another user may have made it, or changed the grants, since this handle)."""
        exists, owner, grants = self.rows.access()
        if not exists:
            self.rows.set_fingerprint(self.fingerprint, owner=self.user.name)
            self.role = role_of(self.user, self.user.name, {})
            return
        self.role = role_of(self.user, owner, grants)
        require(self.user, self.role, "write", self.name)
        self.index.widen_search()  # a collection made before SEARCH_EF: a writer raises it

    def refill(self) -> None:
        """Upsert every stored vector into Chroma, a document at a time (lock held)."""
        index = self.index
        for doc in self.rows.documents(state=None):
            index.upsert(list(self.rows.chunks(doc.doc_id)))

    def finish_interrupted(self) -> None:
        """Complete a crashed writer's adds, replacements and deletions; drop stray vectors.

        Called by recovery with the lock held and Chroma marked dirty.
        """
        index = self.index
        for state in ("deleting", "writing"):  # a document written in parts and not finished
            for doc in self.rows.documents(state=state):
                self._purge([doc.doc_id])
        for doc in self.rows.documents(state="pending"):
            index.upsert(list(self.rows.chunks(doc.doc_id)))
            self._publish([doc.doc_id], older_versions(self.rows.documents(), doc))
        wanted, present = self.rows.chunk_ids(), index.ids()
        index.delete_ids(sorted(present - wanted))
        missing = sorted(wanted - present)
        if missing:
            index.upsert(list(self.rows.load(missing, ready_only=False).values()))

    def _publish(self, ready: list[str], retire: list[str]) -> None:
        self.rows.publish(ready, retire)
        self._purge(retire)

    def _purge(self, doc_ids: list[str]) -> None:
        for doc_id in doc_ids:
            self.index.delete_document(doc_id)
            self.rows.remove_document(doc_id)


def older_versions(ready: list[DocumentRecord], doc: DocumentRecord) -> list[str]:
    """Ids of the other ready versions of ``doc``'s file name (the ones it replaces)."""
    return [d.doc_id for d in ready if d.name == doc.name and d.doc_id != doc.doc_id]
