"""One writer per data dir: an OS file lock (``filelock``), released by the OS if the writer dies.

The lock is per thread as well as per process: another session of the same app (another
thread) is told the store is busy at once instead of waiting, and the thread holding the lock
may take it again (a re-index writes through the same calls as an ingest).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout


class StoreBusyError(RuntimeError):
    """Another process (or session) is writing to the same data dir."""


class WriterLock:
    """``with WriterLock(path):`` holds an exclusive lock on ``path`` or raises at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._owner = path.with_name(path.name + ".owner")  # who holds it, for the message
        self._lock = FileLock(path, timeout=0, thread_local=True)

    @property
    def held(self) -> bool:
        """True while this thread holds the lock."""
        return self._lock.is_locked

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
