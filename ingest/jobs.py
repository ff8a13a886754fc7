"""Indexing in the background: jobs run on the server, whatever the browser does meanwhile.

The app hands uploads to :class:`IngestJobs` and returns at once. One worker thread per
process runs the jobs in order (so two sessions' uploads never compete for the writer lock),
and every session can watch a collection's jobs: a reload, or another tab, still sees the
progress and the results. With a :class:`~ingest.job_log.JobLog`, jobs are also kept in the
database, so other instances (and this one after a restart) see them too, and a job whose
server died is reported as lost. What such a job left half-written is finished or undone by
the store's recovery when it next opens.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.pipeline import Progress, ProgressCallback, Source, ingest_sources
from ingest.results import FileResult
from rag.collection import Collection
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import USER_ERRORS

if TYPE_CHECKING:
    from ingest.job_log import JobLog

KEEP_FINISHED_S = 15 * 60  # finished jobs stay visible this long
SAVE_EVERY_S = 1.0  # a running job's progress is written to the job log at most this often


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
    elsewhere: bool = False  # run by another instance (or an earlier process), read from its log

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

    def __init__(self, embedder: Embedder, settings: Settings, log: JobLog | None = None) -> None:
        """Start the worker (and, with ``log``, the heartbeat of this process's jobs)."""
        self.embedder, self.settings, self.log = embedder, settings, log
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[IngestJob, Collection, list[Source]]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="docent-ingest", daemon=True)
        self._worker.start()
        if log is not None:
            beat = threading.Thread(target=self._beat, args=(log,), name="docent-jobs", daemon=True)
            beat.start()

    def start(self, collection: Collection, sources: list[Source]) -> IngestJob:
        """Queue ``sources`` for ``collection`` (a handle of the uploading user's)."""
        job = IngestJob(
            uuid.uuid4().hex, collection.name, collection.user.name, [s.name for s in sources]
        )
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        if self.log is not None:
            self.log.save(job)
        self._queue.put((job, collection, sources))
        return job

    def get(self, job_id: str | None) -> IngestJob | None:
        """A job by id (None once forgotten)."""
        with self._lock:
            return self._jobs.get(job_id or "")

    def for_collection(self, name: str) -> list[IngestJob]:
        """The collection's running and recently finished jobs, oldest first: this process's,
        and with a job log every other instance's too (those whose server died, lost)."""
        with self._lock:
            self._forget_old()
            jobs = [j for j in self._jobs.values() if j.collection == name]
        if self.log is not None:
            jobs += self.log.others(name, {j.id for j in jobs})
        return sorted(jobs, key=lambda j: j.queued_at)

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
                if self.log is not None:
                    self.log.save(job)

    def _progress(self, job: IngestJob) -> ProgressCallback:
        saved = 0.0

        def report(progress: Progress) -> None:
            nonlocal saved
            job.progress = progress
            if self.log is not None and time.monotonic() - saved >= SAVE_EVERY_S:
                saved = time.monotonic()
                self.log.save(job)

        return report

    def _beat(self, log: JobLog) -> None:
        """Tell the job log, every few seconds, that this process's unfinished jobs live."""
        while True:
            time.sleep(log.heartbeat_s)
            with self._lock:
                alive = [j.id for j in self._jobs.values() if not j.done]
            log.beat(alive)

    def _forget_old(self) -> None:
        now = time.time()
        for job_id in [
            j.id
            for j in self._jobs.values()
            if j.finished_at is not None and now - j.finished_at > KEEP_FINISHED_S
        ]:
            del self._jobs[job_id]
