"""The ingest's writer thread: stores embedded groups, in order, while the next is embedded.

Writing a group (the durable copy, Chroma, then publishing it: :mod:`rag.collection`) takes
seconds in which the embedding model would idle, so it runs in a thread of its own.

The writer lock is per thread (:mod:`rag.lock`) and ``Collection.add_documents`` takes it
again, so this thread takes it and holds it for the whole ingest: recovery, the model check,
every write and the BM25 update happen in it, in the order they used to happen in the
caller's thread. The caller must not hold the lock itself (this thread would be told busy).

Writes behave as if they were made in line: tasks run one at a time, in the order given; once
one fails, no later one runs, and the caller gets that very exception when it next hands over
work, checks or finishes. A caller that fails itself still has every group it handed over
written (those were already written before this thread existed) and the thread joined before
the exception leaves: nothing writes after the caller has returned.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType

from ingest.results import FileResult
from rag.collection import Collection

Task = Callable[[Collection], dict[int, FileResult]]

# Groups handed over and not yet written: one being written, one waiting. The caller blocks
# when it has embedded a third before the first is written, so memory holds at most three.
IN_FLIGHT = 2


class Writer:
    """``with Writer(collection) as writer:`` a thread holding the writer lock runs the tasks.

    Raises (on entering, before any file is read, as before):
        StoreBusyError: another process or session is writing.
        EmbeddingMismatchError: the collection was built with another embedding model.
    """

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.known: set[str] = set()  # ids of the stored documents, read under the lock
        self._results: dict[int, FileResult] = {}
        self._tasks: queue.SimpleQueue[tuple[Task, bool] | None] = queue.SimpleQueue()
        self._slots = threading.Semaphore(IN_FLIGHT)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._finish = False
        # Not a daemon: if the process is stopped while a group is being written, it exits
        # once that write is finished rather than in the middle of it.
        self._thread = threading.Thread(target=self._run, name="docent-write", daemon=False)

    def __enter__(self) -> Writer:
        self._thread.start()
        try:
            self._ready.wait()
            self.check()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():  # the caller failed: what it handed over is written first
            self._stop()

    def write(self, task: Task) -> None:
        """Hand over a group's write; waits while IN_FLIGHT groups are not yet written.

        Raises:
            BaseException: whatever an earlier task raised in the writer thread.
        """
        self._slots.acquire()
        self.check()  # a group after a failed one is never handed over
        self._tasks.put((task, True))

    def note(self, task: Task) -> None:
        """Hand over a task that writes nothing (a file's result): it runs in its turn."""
        self._tasks.put((task, False))

    def check(self) -> None:
        """Raise what the writer thread raised, if anything (cheap: call it often)."""
        if self._error is not None:
            raise self._error

    def finish(self) -> dict[int, FileResult]:
        """Run what is left, bring BM25 up to date, release the lock; the tasks' results.

        Raises:
            BaseException: whatever a task (or the BM25 update) raised in the writer thread.
        """
        self._finish = True
        self._stop()
        self.check()
        return self._results

    def _stop(self) -> None:
        self._tasks.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            with self.collection.writing():
                self.collection.check_vectors()
                self.known = {d.doc_id for d in self.collection.documents()}
                self._ready.set()
                self._work()
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self._error = self._error or exc
        finally:
            self._ready.set()

    def _work(self) -> None:
        for task, is_group in iter(self._tasks.get, None):
            try:
                if self._error is None:  # after a failed task, nothing later is written
                    self._results |= task(self.collection)
            except BaseException as exc:
                self._error = exc
            finally:
                if is_group:
                    self._slots.release()
            del task  # a written group's vectors are freed now, not when the next one comes
        if self._error is None and self._finish:
            self.collection.lexical()  # bring BM25 up to date now, not at the first question
