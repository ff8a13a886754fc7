"""Indexing jobs kept in the database: every instance sees every job, and a lost one is said.

A server process writes each of its jobs here when it is queued, as it goes (at most once a
second) and when it ends, and beats for its unfinished jobs every few seconds. So another
instance over the same database (or this one after a restart) shows a job's progress and how
it ended; and a job whose process died (killed, out of memory, restarted) stops beating and
is reported as lost, naming where it stopped, instead of vanishing with its files (at once
when the process was on this machine and is gone, else after :data:`LOST_AFTER_S`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Collection as Ids
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Row, or_, select

from ingest.jobs import KEEP_FINISHED_S, IngestJob
from ingest.pipeline import Progress
from ingest.results import FileResult
from rag.database import Database, ingest_jobs_table

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # how often a process says its unfinished jobs are still alive
LOST_AFTER_S = 60.0  # a job not heard of for this long died with its process
PRUNE_S = 24 * 3600  # finished jobs' records are deleted after this (when a job is queued)
_t = ingest_jobs_table.c


def instance_name() -> str:
    """This process, as job records name it: host, process id and a random suffix (a pid is
    reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobLog:
    """The jobs of every instance over one database."""

    def __init__(self, db: Database, lost_after_s: float = LOST_AFTER_S) -> None:
        self.db = db
        self.instance = instance_name()
        self.lost_after_s = lost_after_s
        self.heartbeat_s = min(HEARTBEAT_S, lost_after_s / 4)  # a live job is never taken for lost

    def save(self, job: IngestJob) -> None:
        """Write ``job`` as it is now (this instance runs it, so it is alive)."""
        row = {
            "collection": job.collection,
            "user_name": job.user,
            "instance": self.instance,
            "files": json.dumps(job.files),
            "queued_at": job.queued_at,
            "progress": json.dumps(asdict(job.progress)) if job.progress else None,
            "results": _results_json(job.results),
            "error": job.error,
            "finished_at": job.finished_at,
            "heartbeat_at": time.time(),
        }
        self._quietly(lambda conn: _upsert(conn, job.id, row))

    def beat(self, ids: Ids[str]) -> None:
        """Say that these unfinished jobs of this instance are still alive."""
        if ids:
            update = ingest_jobs_table.update().where(_t.id.in_(list(ids)))
            self._quietly(lambda conn: conn.execute(update.values(heartbeat_at=time.time())))

    def others(self, collection: str, local: Ids[str]) -> list[IngestJob]:
        """``collection``'s jobs run elsewhere (another instance, an earlier process), those
        unfinished and those finished in the last ``KEEP_FINISHED_S``; a job whose process stopped
        beating is marked lost (in the database too, once)."""
        now = time.time()
        query = select(ingest_jobs_table).where(
            _t.collection == collection,
            or_(_t.finished_at.is_(None), _t.finished_at > now - KEEP_FINISHED_S),
        )
        try:
            with self.db.read() as conn:
                rows = [r for r in conn.execute(query) if r.id not in local]
        except Exception:  # the page shows this instance's own jobs rather than fail
            log.warning("could not read indexing jobs", exc_info=True)
            return []
        jobs = [_job(r) for r in rows]
        for job, row in zip(jobs, rows, strict=True):
            silent = row.heartbeat_at < now - self.lost_after_s
            if job.finished_at is None and (silent or _gone(row.instance)):
                self._mark_lost(job, now)
        return jobs

    def _mark_lost(self, job: IngestJob, now: float) -> None:
        job.error, job.finished_at = lost_message(job), now
        update = (
            ingest_jobs_table.update()
            .where(_t.id == job.id, _t.finished_at.is_(None))
            .values(error=job.error, finished_at=now)
        )
        self._quietly(lambda conn: conn.execute(update))

    def _quietly(self, write: Any) -> None:
        """Run ``write`` in a transaction; a failure is logged, never raised: the job's own
        work (indexing) must not fail because its record could not be written."""
        try:
            with self.db.write() as conn:
                write(conn)
        except Exception:
            log.warning("could not record an indexing job", exc_info=True)


def _gone(instance: str) -> bool:
    """Whether ``instance`` was a process of this machine that no longer runs (a restart on
    one machine is reported at once, not after :data:`LOST_AFTER_S`)."""
    host, _, rest = instance.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # it exists, run by another user
        return False
    return False


def lost_message(job: IngestJob) -> str:
    """What a user is told about a job whose server stopped."""
    p = job.progress
    where = "before it began" if p is None else f"at {p.name}, file {p.index + 1} of {p.total}"
    return (
        f"Indexing of {len(job.files)} file(s) stopped {where}: the server running it stopped. "
        "Files listed under the collection's documents were indexed; upload the others again."
    )


def _results_json(results: list[FileResult] | None) -> str | None:
    return None if results is None else json.dumps([asdict(r) for r in results])


def _upsert(conn: Connection, job_id: str, row: dict[str, Any]) -> None:
    done = conn.execute(ingest_jobs_table.update().where(_t.id == job_id).values(**row))
    if not done.rowcount:
        conn.execute(ingest_jobs_table.insert().values(id=job_id, **row))
        old = _t.finished_at < row["heartbeat_at"] - PRUNE_S
        conn.execute(ingest_jobs_table.delete().where(old))


def _job(row: Row[Any]) -> IngestJob:
    progress = json.loads(row.progress) if row.progress else None
    results = json.loads(row.results) if row.results is not None else None
    return IngestJob(
        row.id,
        row.collection,
        row.user_name,
        json.loads(row.files),
        queued_at=row.queued_at,
        progress=Progress(**progress) if progress else None,
        results=[FileResult(**r) for r in results] if results is not None else None,
        error=row.error,
        finished_at=row.finished_at,
        elsewhere=True,
    )
