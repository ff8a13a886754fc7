"""A library: the collections of one data dir, their durable store, vector store and writer lock.

``Library.open(name)`` hands out a :class:`~rag.collection.Collection`; everything below works
on that handle. Opening a library is where crash recovery happens (:mod:`rag.recovery`): if a
writer died, the store is checked and repaired before anything reads it, and again whenever a
writer takes the lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from rag.access import MAINTENANCE, Grant, Role, User, require, role_of
from rag.collection import Collection
from rag.config import Settings, check_collection_name
from rag.database import open_database
from rag.docstore import DocStore
from rag.embeddings import Fingerprint
from rag.lexical import LexicalIndex
from rag.lock import AdvisoryLocks, StoreBusyError, WriterLock
from rag.recovery import (
    check_unopened,
    chroma_folder,
    finish,
    healthy,
    needs_recovery,
    rebuild_collection,
    rebuild_folder,
)
from rag.vectors import EmbeddingMismatchError, VectorStore


def readable(store: DocStore, user: User | None = None) -> list[str]:
    """Names of the collections in ``store`` that ``user`` may read (default: all)."""
    names = store.collections()
    if user is None:
        return names
    owners, grants = store.owners(), store.grants()
    return [n for n in names if role_of(user, owners.get(n), grants.get(n, {})) != "none"]


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
        # A shared database (PostgreSQL) serves several instances: they need one Chroma
        # server, and lock per collection; SQLite is one machine's, one writer at a time.
        self.shared = self.store.db.dialect == "postgresql"
        if self.shared and not settings.chroma_host:
            raise ValueError(
                "a shared database (DOCENT_DATABASE_URL) needs a shared Chroma server too: set "
                "DOCENT_CHROMA_HOST (see the README's shared deployment)"
            )
        self.locks: WriterLock | AdvisoryLocks = (
            AdvisoryLocks(self.store.db.engine, settings.lock_wait_s)
            if self.shared
            else WriterLock(settings.data_dir / "writer.lock")
        )
        self.recovered: list[str] = []  # what the last recovery did, for logs and tests
        self._lexical: dict[str, LexicalIndex] = {}
        self.vectors = self._open_vectors()

    def _open_vectors(self) -> VectorStore:
        """Open Chroma; first finish (and, where damaged, rebuild) what a dead writer left."""
        folder = chroma_folder(self.settings, self.store)
        if self.shared:  # collection by collection, each under its lock, if nobody writes it
            self.vectors = VectorStore(self.settings, folder)
            for name in self.collections():
                if needs_recovery(self.store, name):
                    with contextlib.suppress(StoreBusyError), self.locks.hold(name, wait_s=0):
                        self._recover(name)
            return self.vectors
        if needs_recovery(self.store):
            try:
                with self.locks.hold():
                    self.recovered = check_unopened(self.settings, self.store)
                    self.vectors = VectorStore(
                        self.settings, chroma_folder(self.settings, self.store)
                    )
                    self.recovered += finish(self.store, self._unfinished(None))
                    return self.vectors
            except StoreBusyError:
                pass  # a live writer is at work: it recovers and owns the store's state
        return VectorStore(self.settings, folder)

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
            name,
            fingerprint,
            self.store,
            self.vectors,
            lexical,
            lambda: self.writing(name),
            user,
            role,
        )

    def collections(self, user: User | None = None) -> list[str]:
        """Names of the collections ``user`` may read (default: all)."""
        return readable(self.store, user)

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
        with self.writing(name), self.store.chroma_writing(name):
            self.vectors.drop(name)
            self.store.drop_collection(name)

    def _unfinished(self, name: str | None) -> list[Collection]:
        """Handles on the collections (all, or ``name``) a dead writer left unfinished."""
        names = [name] if name else self.collections()
        return [
            self.open(n, MAINTENANCE, verify=False) for n in names if needs_recovery(self.store, n)
        ]

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def writing(self, name: str | None = None) -> Iterator[None]:
        """Hold the writer lock (the data dir's; on a shared store, collection ``name``'s);
        a crashed writer's work is finished first.

        Raises:
            StoreBusyError: another writer has it: at once with SQLite; on a shared store,
                after ``DOCENT_LOCK_WAIT_S`` of waiting.
        """
        if self.shared and name is None:
            raise ValueError("on a shared store, writing needs a collection")
        key = name if self.shared else ""
        first = not self.locks.held(key or "")
        with self.locks.hold(key or ""):
            if first and needs_recovery(self.store, key or None):
                self._recover(key or None)
            yield

    def _recover(self, name: str | None) -> None:
        """Recovery with Chroma open in this process, for ``name`` (or every collection)."""
        self.recovered = []
        dirty = [c for c in self._unfinished(name) if self.store.chroma_dirty(c.name)]
        broken = [c for c in dirty if not healthy(c)]
        if broken and self.vectors.embedded:  # one folder holds every collection
            self.recovered.append(rebuild_folder(self.settings, self.store, self.collections()))
            self.vectors.move_to(chroma_folder(self.settings, self.store))
        else:
            self.recovered += [rebuild_collection(self.store, self.vectors, c.name) for c in broken]
        self.recovered += finish(self.store, self._unfinished(name))

    def close(self) -> None:
        """Release the lock and the database connections."""
        if isinstance(self.locks, WriterLock):
            self.locks.release()
        self.store.close()
