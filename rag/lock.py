"""Writer locks: one writer per data dir (SQLite), or per collection (a shared PostgreSQL).

With SQLite, an OS file lock (``filelock``), released by the OS if the writer dies. It is per
thread as well as per process: another session of the same app (another thread) is told the
store is busy at once instead of waiting, and the thread holding the lock may take it again
(a re-index writes through the same calls as an ingest). With PostgreSQL, advisory locks
(:class:`AdvisoryLocks`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text


class StoreBusyError(RuntimeError):
    """Another process (or session) is writing to the same data dir."""


class WriterLock:
    """``with WriterLock(path):`` holds an exclusive lock on ``path`` or raises at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._owner = path.with_name(path.name + ".owner")  # who holds it, for the message
        self._lock = FileLock(path, timeout=0, thread_local=True)

    def held(self, name: str = "") -> bool:
        """True while this thread holds the lock (one lock for every collection)."""
        return self._lock.is_locked

    @contextmanager
    def hold(self, name: str = "", wait_s: float | None = None) -> Iterator[None]:
        """Hold the data dir's lock for the block, whatever the collection (never waits).

        Raises:
            StoreBusyError: another process or session is writing.
        """
        with self:
            yield

    def acquire(self) -> None:
        """Take the lock (again, if this thread has it) or raise :class:`StoreBusyError`."""
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreBusyError(
                f"the store in {self.path.parent} is busy: {self._holder()} is writing to it. "
                "Wait for it to finish, or use a Chroma server for several writers."
            ) from None
        self._owner.write_text(f"pid {os.getpid()}")

    def release(self) -> None:
        """Give the lock back (once per acquire)."""
        if self._lock.is_locked:
            self._lock.release()

    def _holder(self) -> str:
        try:
            return self._owner.read_text().strip() or "another process"
        except OSError:
            return "another process"

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class AdvisoryLocks:
    """Writer locks per collection for a shared PostgreSQL store: session advisory locks, each
    held on a connection of its own, so the server frees it if the holder dies. A writer
    waits (up to ``wait_s``) for another instance writing the same collection; collections
    are independent. The thread holding a lock may take it again."""

    def __init__(self, engine: Engine, wait_s: float) -> None:
        self.engine, self.wait_s = engine, wait_s
        self._held: dict[tuple[int, str], list[Any]] = {}  # (thread, name) -> [conn, depth]
        self._guard = threading.Lock()

    def held(self, name: str) -> bool:
        """Whether this thread holds ``name``'s lock."""
        return (threading.get_ident(), name) in self._held

    @contextmanager
    def hold(self, name: str, wait_s: float | None = None) -> Iterator[None]:
        """Hold ``name``'s lock for the block.

        Raises:
            StoreBusyError: another instance kept it longer than ``wait_s`` (0: no waiting).
        """
        key = (threading.get_ident(), name)
        if key in self._held:
            self._held[key][1] += 1
            try:
                yield
            finally:
                self._held[key][1] -= 1
            return
        conn = self._acquire(name, self.wait_s if wait_s is None else wait_s)
        with self._guard:
            self._held[key] = [conn, 1]
        try:
            yield
        finally:
            with self._guard:
                del self._held[key]
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
            finally:
                conn.close()

    def _acquire(self, name: str, wait_s: float) -> Any:
        from sqlalchemy.exc import OperationalError

        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if wait_s <= 0:
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(name)}
                ).scalar()
                if not got:
                    raise StoreBusyError(
                        f"collection {name!r} is being written by another instance"
                    )
                return conn
            conn.execute(text(f"SET lock_timeout = {int(wait_s * 1000)}"))
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(name)})
            return conn
        except OperationalError:
            conn.close()
            raise StoreBusyError(
                f"collection {name!r} has been written by another instance for over "
                f"{wait_s:.0f} s; try again when it has finished"
            ) from None
        except BaseException:
            conn.close()
            raise


def lock_key(name: str) -> int:
    """The advisory-lock key of a collection: a signed 64-bit hash of its name."""
    return int.from_bytes(
        hashlib.sha256(f"docent:{name}".encode()).digest()[:8], "big", signed=True
    )
