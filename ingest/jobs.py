"""Indexing in the background: jobs run on the server, whatever the browser does meanwhile.

The app hands uploads to :class:`IngestJobs` and returns at once. One worker thread per
process runs the jobs in order (so two sessions' uploads never compete for the writer lock),
and every session can watch a collection's jobs: a reload, or another tab, still sees the
progress and the results. A job stopped by a crash of the server is finished or undone by the
store's recovery when it next opens.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field

from ingest.pipeline import Progress, ProgressCallback, Source, ingest_sources
from ingest.results import FileResult
from rag.collection import Collection
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import USER_ERRORS

KEEP_FINISHED_S = 15 * 60  # finished jobs stay visible this long


@dataclass
class IngestJob:
    """One upload being indexed: what, by whom, how far, and how it ended."""

    id: str
    collection: str
    user: str
    files: list[str]
    queued_at: float = field(default_factory=time.time)
    progress: Progress | None = None
    results: list[FileResult] | None = None
    error: str | None = None
    finished_at: float | None = None

    @property
    def done(self) -> bool:
        """Finished, one way or the other."""
        return self.finished_at is not None

    @property
    def share(self) -> float:
        """How far it is, 0..1."""
        p = self.progress
        if self.done:
            return 1.0
        if p is None:
            return 0.0
        return min((p.index + (p.done / p.of if p.of else 0)) / max(p.total, 1), 1.0)


class IngestJobs:
    """The jobs of one server process, run one at a time by a worker thread."""

    def __init__(self, embedder: Embedder, settings: Settings) -> None:
        self.embedder, self.settings = embedder, settings
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[IngestJob, Collection, list[Source]]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="docent-ingest", daemon=True)
        self._worker.start()

    def start(self, collection: Collection, sources: list[Source]) -> IngestJob:
        """Queue ``sources`` for ``collection`` (a handle of the uploading user's)."""
        job = IngestJob(
            uuid.uuid4().hex, collection.name, collection.user.name, [s.name for s in sources]
        )
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        self._queue.put((job, collection, sources))
        return job

    def get(self, job_id: str | None) -> IngestJob | None:
        """A job by id (None once forgotten)."""
        with self._lock:
            return self._jobs.get(job_id or "")

    def for_collection(self, name: str) -> list[IngestJob]:
        """The collection's running and recently finished jobs, oldest first."""
        with self._lock:
            self._forget_old()
            return sorted(
                (j for j in self._jobs.values() if j.collection == name), key=lambda j: j.queued_at
            )

    def wait(self, job: IngestJob, timeout: float) -> bool:
        """Block until ``job`` is done or ``timeout`` seconds passed; whether it is done."""
        deadline = time.monotonic() + timeout
        while not job.done and time.monotonic() < deadline:
            time.sleep(0.05)
        return job.done

    def _work(self) -> None:
        while True:
            job, collection, sources = self._queue.get()
            try:
                job.results = ingest_sources(
                    sources, collection, self.embedder, self.settings, self._progress(job)
                )
            except USER_ERRORS as exc:  # busy store, no right to write, model mismatch...
                job.error = str(exc)
            except Exception as exc:  # a bug must not kill the worker for everyone
                job.error = f"indexing failed ({type(exc).__name__}: {exc})"
            finally:
                job.finished_at = time.time()

    @staticmethod
    def _progress(job: IngestJob) -> ProgressCallback:
        def report(progress: Progress) -> None:
            job.progress = progress

        return report

    def _forget_old(self) -> None:
        now = time.time()
        for job_id in [
            j.id
            for j in self._jobs.values()
            if j.finished_at is not None and now - j.finished_at > KEEP_FINISHED_S
        ]:
            del self._jobs[job_id]
