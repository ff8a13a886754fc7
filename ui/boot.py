"""Docent built in the background, so the page shows before the embedding model has loaded.

Loading the model takes 15 to 25 s on a busy 2-core machine (bench/startup.py). The app makes one
:class:`Boot` per server process; its thread first opens the database (a few milliseconds:
enough for signing in and for listing the library) and then builds :class:`~rag.system.Docent`
and the background indexer. Uploads sent meanwhile wait here, and go to the indexer the moment
it exists, whoever is still on the page. No Streamlit in this module: the page that shows all
this is :mod:`ui.loading`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ingest.job_log import JobLog
from ingest.jobs import IngestJobs
from ingest.pipeline import Source
from rag.access import User
from rag.accounts import Accounts
from rag.config import Settings
from rag.database import open_database
from rag.docstore import DocStore
from rag.errors import USER_ERRORS
from rag.system import Docent

log = logging.getLogger(__name__)
Phase = Literal["opening", "loading", "ready", "failed"]


@dataclass
class Front:
    """What needs only the database: accounts (signing in) and the library's rows (read
    only: every change to a collection waits for Docent, which owns the writer lock)."""

    settings: Settings
    accounts: Accounts
    store: DocStore

    @classmethod
    def open(cls, settings: Settings) -> Front:
        """Open (and if needed migrate) the configured database."""
        db = open_database(settings)
        return cls(settings, Accounts(db, settings), DocStore(db))


@dataclass
class QueuedUpload:
    """Files sent while the model was loading: indexed as one job once it is ready."""

    collection: str
    user: User
    sources: list[Source]
    files: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    queued_at: float = field(default_factory=time.time)
    job_id: str | None = None  # the indexing job it became
    error: str | None = None  # why it could not become one

    @property
    def waiting(self) -> bool:
        """Still waiting for the model."""
        return self.job_id is None and self.error is None


class Boot:
    """One server process's Docent, built on a background thread; safe to share by sessions.

    Args:
        settings: what to build Docent with.
        build: how (default :class:`~rag.system.Docent`); the tests hold it back with a gate
            to see the page before the model is there.
    """

    def __init__(self, settings: Settings, build: Callable[[Settings], Docent] = Docent) -> None:
        self.settings, self._build = settings, build
        self._lock = threading.Lock()
        self._front_opened = threading.Event()
        self._done = threading.Event()
        self._uploads: dict[str, QueuedUpload] = {}
        self.front: Front | None = None
        self.app: Docent | None = None
        self.jobs: IngestJobs | None = None
        self.error: str | None = None
        self.started_at = time.monotonic()
        self._start()

    # -- state ---------------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        """Where the build is: opening the database, loading the model, ready, or failed."""
        with self._lock:
            if self.error is not None:
                return "failed"
            if self.app is not None:
                return "ready"
            return "loading" if self.front is not None else "opening"

    @property
    def elapsed(self) -> float:
        """Seconds since the current attempt started."""
        return time.monotonic() - self.started_at

    def wait_front(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the database (or a failure); whether that came."""
        return self._front_opened.wait(timeout)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for Docent (or a failure); whether the build is over."""
        return self._done.wait(timeout)

    def retry(self) -> None:
        """After a failure, try again (once, however many sessions ask)."""
        with self._lock:
            if self.error is None:
                return
            self.error = None
            self._front_opened.clear()
            self._done.clear()
            self.started_at = time.monotonic()
        self._start()

    # -- uploads sent while loading ------------------------------------------------------------
    def queue(self, collection: str, user: User, sources: list[Source]) -> QueuedUpload:
        """Index ``sources`` into ``collection`` for ``user`` as soon as Docent is ready (at
        once if it already is). Access is checked then, by the library, as for any upload."""
        upload = QueuedUpload(collection, user, sources, [s.name for s in sources])
        with self._lock:
            self._uploads[upload.id] = upload
            if self.app is not None and self.jobs is not None:
                self._submit(upload, self.app, self.jobs)
        return upload

    def upload(self, upload_id: str | None) -> QueuedUpload | None:
        """A queued upload by id."""
        with self._lock:
            return self._uploads.get(upload_id or "")

    def waiting(self, collection: str) -> list[QueuedUpload]:
        """Uploads for ``collection`` still waiting for the model, oldest first."""
        with self._lock:
            return [u for u in self._uploads.values() if u.collection == collection and u.waiting]

    # -- the build -----------------------------------------------------------------------------
    def _start(self) -> None:
        threading.Thread(target=self._run, name="docent-boot", daemon=True).start()

    def _run(self) -> None:
        try:
            if self.front is None:
                front = Front.open(self.settings)
                with self._lock:
                    self.front = front
            self._front_opened.set()
            app = self._build(self.settings)
            jobs = IngestJobs(app.embedder, app.settings, JobLog(app.library.store.db))
        except Exception as exc:  # shown on every session's page, with a way to try again
            log.exception("Docent could not start")
            with self._lock:
                self.error = _describe(exc)
            self._front_opened.set()
            self._done.set()
            return
        with self._lock:  # uploads queued meanwhile go first, and none slips between
            for upload in self._uploads.values():
                if upload.waiting:
                    self._submit(upload, app, jobs)
            # Last: a page reads these without the lock, and one that sees Docent must find
            # its queued upload's job (else it drew no progress and never showed the result).
            self.app, self.jobs = app, jobs
        self._done.set()

    @staticmethod
    def _submit(upload: QueuedUpload, app: Docent, jobs: IngestJobs) -> None:
        try:
            collection = app.collection(upload.collection, upload.user)
            upload.job_id = jobs.start(collection, upload.sources).id
        except Exception as exc:  # refused (access, name, model): the uploader is told
            upload.error = _describe(exc)
        upload.sources = []  # the job has the bytes now (or nobody needs them)


def _describe(exc: Exception) -> str:
    """A message for the page: a user's error as is, anything else with its type."""
    if isinstance(exc, USER_ERRORS):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
