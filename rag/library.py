"""A library: the collections of one data dir, their durable store, vector store and writer lock.

``Library.open(name)`` hands out a :class:`~rag.collection.Collection`; everything below works
on that handle. Opening a library is where crash recovery happens (:mod:`rag.recovery`): if a
writer died, the store is checked and repaired before anything reads it, and again whenever a
writer takes the lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rag.access import MAINTENANCE, Grant, Role, User, require, role_of
from rag.collection import Collection
from rag.config import Settings, check_collection_name
from rag.database import open_database
from rag.docstore import DocStore
from rag.embeddings import Fingerprint
from rag.lexical import LexicalIndex
from rag.lock import StoreBusyError, WriterLock
from rag.recovery import (
    check_open,
    check_unopened,
    chroma_folder,
    finish,
    fresh_folder,
    needs_recovery,
    rebuild,
)
from rag.vectors import EmbeddingMismatchError, VectorStore


class Library:
    """Every collection in one data dir (or one shared database and Chroma server)."""

    def __init__(self, settings: Settings, fingerprint: Fingerprint) -> None:
        """Open the durable store, recover from a crashed writer if needed, then open Chroma.

        Args:
            settings: where the data lives and which Chroma to use.
            fingerprint: the configured embedder's fingerprint; collections made with another
                model are refused (:class:`~rag.vectors.EmbeddingMismatchError`).
        """
        self.settings, self.fingerprint = settings, fingerprint
        self.store = DocStore(open_database(settings))
        self.lock = WriterLock(settings.data_dir / "writer.lock")
        self.recovered: list[str] = []  # what the last recovery did, for logs and tests
        self._lexical: dict[str, LexicalIndex] = {}
        self.vectors = self._open_vectors()

    def _open_vectors(self) -> VectorStore:
        if needs_recovery(self.store):
            try:
                with self.lock:
                    self.recovered = check_unopened(self.settings, self.store)
                    self.vectors = VectorStore(
                        self.settings, chroma_folder(self.settings, self.store)
                    )
                    self.recovered += finish(self.store, self._all)
                    return self.vectors
            except StoreBusyError:
                pass  # a live writer is at work: it recovers and owns the store's state
        return VectorStore(self.settings, chroma_folder(self.settings, self.store))

    # -- collections ---------------------------------------------------------------------------
    def open(self, name: str, user: User | None = None, verify: bool = True) -> Collection:
        """A handle on collection ``name`` for ``user`` (default: the local administrator).

        A collection that does not exist yet is the opener's: it is made, owned by them, when
        they add the first document.

        Raises:
            ValueError: ``name`` is not a valid collection name.
            AccessDenied: ``user`` may not read it.
            EmbeddingMismatchError: the collection was made with another model (unless
                ``verify`` is False, which only re-indexing uses).
        """
        check_collection_name(name)
        user = user or User.local()
        role = self._role(name, user)
        require(user, role, "read", name)
        stored = self.store.rows(name).fingerprint()
        if verify and stored is not None and stored != self.fingerprint:
            raise EmbeddingMismatchError(name, stored, self.fingerprint)
        fingerprint = self.fingerprint if verify else (stored or self.fingerprint)
        lexical = self._lexical.setdefault(
            name, LexicalIndex(self.settings.data_dir / "bm25" / name)
        )
        return Collection(
            name, fingerprint, self.store, self.vectors, lexical, self.writing, user, role
        )

    def collections(self, user: User | None = None) -> list[str]:
        """Names of the collections ``user`` may read (default: all)."""
        names = self.store.collections()
        if user is None:
            return names
        owners, grants = self.store.owners(), self.store.grants()
        return [n for n in names if role_of(user, owners.get(n), grants.get(n, {})) != "none"]

    def _role(self, name: str, user: User) -> Role:
        """``user``'s role on ``name``; a collection that does not exist yet would be theirs."""
        exists, owner, grants = self.store.rows(name).access()
        return role_of(user, owner, grants) if exists else role_of(user, user.name, {})

    def access(self, name: str, user: User) -> tuple[str | None, dict[str, Grant]]:
        """Who owns ``name`` and whom it is shared with (for a user who may read it)."""
        require(user, self._role(name, user), "read", name)
        _, owner, grants = self.store.rows(name).access()
        return owner, grants

    def share(self, name: str, user: User, grantee: str, role: Grant | None) -> None:
        """Share ``name`` with ``grantee`` (a user name or ``*`` for everyone) as ``role``,
        or stop sharing (``None``).

        Raises:
            AccessDenied: ``user`` is neither its owner nor an admin, or it does not exist.
        """
        exists, owner, grants = self.store.rows(name).access()
        require(user, role_of(user, owner, grants) if exists else "none", "manage", name)
        self.store.rows(name).set_grant(grantee, role)

    def delete_collection(self, name: str, user: User | None = None) -> None:
        """Drop a whole collection: its vectors, then its rows.

        Raises:
            AccessDenied: ``user`` is neither its owner nor an admin.
        """
        check_collection_name(name)
        user = user or User.local()
        require(user, self._role(name, user), "manage", name)
        with self.writing(), self.store.chroma_writing():
            self.vectors.drop(name)
            self.store.drop_collection(name)

    def _all(self) -> list[Collection]:
        return [self.open(name, MAINTENANCE, verify=False) for name in self.collections()]

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock; a crashed writer's work is finished first.

        Raises:
            StoreBusyError: another process or session is writing (never waits).
        """
        first = not self.lock.held
        with self.lock:
            if first and needs_recovery(self.store):
                self._recover_open()
            yield

    def _recover_open(self) -> None:
        """Recovery with Chroma already open in this process (a writer died meanwhile)."""
        self.recovered = []
        if self.store.chroma_dirty() and not check_open(self.vectors, self._all()):
            target = self.vectors
            if target.embedded:
                target = VectorStore(self.settings, fresh_folder(self.settings))
            self.recovered.append(rebuild(self.settings, self.store, target, self.collections()))
            self.vectors.move_to(chroma_folder(self.settings, self.store))
        self.recovered += finish(self.store, self._all)

    def close(self) -> None:
        """Release the lock and the database connections."""
        self.lock.release()
        self.store.close()
