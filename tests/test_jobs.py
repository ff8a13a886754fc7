"""Indexing jobs in the database: seen by every instance, and reported when their server died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from ingest.job_log import JobLog
from ingest.jobs import IngestJob, IngestJobs
from ingest.pipeline import Progress, Source
from ingest.results import FileResult
from rag.config import Settings
from rag.database import Database, open_database
from rag.system import Docent
from tests.conftest import PDFS, REPO

T = TypeVar("T")


def _wait_for(check: Callable[[], T | None], timeout: float = 300) -> T:
    """Poll ``check()`` until it returns something; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_another_instance_sees_a_job_as_it_runs_and_how_it_ended(local: Docent) -> None:
    # Before: jobs lived in the memory of the process running them, so another instance over
    # the same database (or a reload that reached one) showed nothing until documents appeared.
    here = IngestJobs(local.embedder, local.settings, JobLog(local.library.store.db))
    other_db = open_database(local.settings)  # another process's own connection to it
    there = IngestJobs(local.embedder, local.settings, JobLog(other_db))
    sources = [
        Source.from_bytes("R-intro.pdf", (PDFS / "R-intro.pdf").read_bytes()),
        Source.from_bytes("broken.pdf", b"not a PDF at all"),
    ]
    job = here.start(local.collection(), sources)
    seen = there.for_collection(local.settings.collection)
    assert [(j.id, j.files, j.elsewhere) for j in seen] == [
        (job.id, ["R-intro.pdf", "broken.pdf"], True)
    ]

    def running_there() -> IngestJob | None:
        [mirror] = there.for_collection(local.settings.collection)
        return mirror if mirror.progress is not None and not job.done else None

    mirror = _wait_for(running_there)
    assert not mirror.done and 0 <= mirror.share < 1
    assert here.wait(job, 300)
    [ended] = there.for_collection(local.settings.collection)
    assert ended.done and ended.error is None
    assert [(r.name, r.status) for r in ended.results or []] == [
        ("R-intro.pdf", "indexed"),
        ("broken.pdf", "failed"),
    ]
    assert ended.results == job.results  # reasons and counts too
    assert here.for_collection(local.settings.collection) == [job]  # its own, not twice
    other_db.close()


CHILD = """
import sys, time
from pathlib import Path
from ingest.job_log import JobLog
from ingest.jobs import IngestJobs
from ingest.pipeline import Source
from rag.config import Settings
from rag.system import Docent

settings = Settings(data_dir=Path(sys.argv[1]), collection="test", _env_file=None)
app = Docent(settings)
jobs = IngestJobs(app.embedder, settings, JobLog(app.library.store.db))
names = sys.argv[2:]
jobs.start(app.collection(), [Source.from_bytes(Path(n).name, Path(n).read_bytes()) for n in names])
time.sleep(3600)  # killed long before
"""


def test_a_job_whose_server_died_is_reported_lost_naming_where_it_stopped(
    settings: Settings,
) -> None:
    # Before: an upload being indexed when its server was killed vanished without a word.
    files = [PDFS / "R-intro.pdf", PDFS / "R-admin.pdf"]
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(settings.data_dir), *map(str, files)],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def embedding() -> Database | None:
            if not (settings.data_dir / "docent.sqlite").exists():
                return None
            db = open_database(settings)
            jobs = JobLog(db).others("test", set())
            if jobs and jobs[0].progress and jobs[0].progress.stage == "embedding":
                return db
            db.close()
            return None

        db = _wait_for(embedding)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # It beat a moment ago, but its process on this machine is gone: lost at once
    [lost] = JobLog(db).others("test", set())
    assert lost.done and lost.error is not None
    assert "stopped at R-intro.pdf, file 1 of 2" in lost.error
    assert "upload the others again" in lost.error
    [again] = JobLog(db).others("test", set())  # written down: any reader now says the same
    assert again.error == lost.error and again.finished_at == pytest.approx(lost.finished_at)
    db.close()


@pytest.mark.slow
def test_the_job_log_on_postgresql(database_url: str) -> None:
    db = Database(database_url)
    log = JobLog(db, lost_after_s=0.5)
    job = IngestJob("j-pg-1", "pg-jobs", "ada", ["a.md", "b.md"])
    log.save(job)
    job.progress = Progress(1, 2, "b.md", "embedding", 3, 10)
    log.save(job)
    [seen] = JobLog(db).others("pg-jobs", set())
    assert seen.progress == job.progress and seen.user == "ada" and not seen.done
    assert JobLog(db).others("pg-jobs", {"j-pg-1"}) == []  # a reader's own job is not repeated
    job.results = [FileResult("a.md", "indexed", 4), FileResult("b.md", "skipped", reason="x")]
    job.finished_at = time.time()
    log.save(job)
    [ended] = JobLog(db).others("pg-jobs", set())
    assert ended.results == job.results and ended.done and ended.error is None
    stalled = IngestJob("j-pg-2", "pg-jobs", "bob", ["c.md"])  # its process lives: it is
    log.save(stalled)  # taken for lost only when it has not beaten for lost_after_s
    log.beat({"j-pg-2"})
    assert not next(j for j in log.others("pg-jobs", set()) if j.id == "j-pg-2").done
    time.sleep(0.6)
    lost = next(j for j in log.others("pg-jobs", set()) if j.id == "j-pg-2")
    assert lost.done and "stopped before it began" in (lost.error or "")
    db.close()


def test_a_database_of_the_version_before_gains_the_jobs_table(settings: Settings) -> None:
    from sqlalchemy import inspect, text

    from rag.database import LATEST

    db = open_database(settings)
    with db.write() as conn:  # the schema as Docent left it before jobs were kept
        conn.execute(text("DROP TABLE ingest_jobs"))
        conn.execute(text("UPDATE schema_version SET version = 4"))
    db.close()
    db = open_database(settings)
    with db.read() as conn:
        assert "ingest_jobs" in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT version FROM schema_version")).scalar_one() == LATEST
    JobLog(db).save(IngestJob("j1", "c", "u", ["a.md"]))
    assert [j.id for j in JobLog(db).others("c", set())] == ["j1"]
    db.close()


def test_records_of_long_finished_jobs_are_deleted_when_a_job_is_queued(
    settings: Settings,
) -> None:
    from sqlalchemy import select

    from ingest.job_log import PRUNE_S
    from rag.database import ingest_jobs_table

    db = open_database(settings)
    log = JobLog(db)
    for n, age in (("old", PRUNE_S + 60), ("recent", 60)):
        log.save(IngestJob(n, "c", "u", ["a.md"], finished_at=time.time() - age))
    log.save(IngestJob("new", "c", "u", ["b.md"]))
    with db.read() as conn:
        ids = conn.execute(select(ingest_jobs_table.c.id).order_by("id")).scalars().all()
    assert ids == ["new", "recent"]
    db.close()
