"""Start-up: the page works while the embedding model loads, in every session, and says so.

The model is the real one; the tests only hold its loading back (a gate) to see the page
before it is there. How long start-up takes is measured by ``bench/startup.py``, not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ingest.jobs import IngestJobs
from ingest.pipeline import Source
from rag.access import User
from rag.accounts import Accounts
from rag.config import Settings, get_settings
from rag.database import open_database
from rag.system import Docent
from tests.helpers import FACTS, make_pdf
from ui.boot import Boot, QueuedUpload

LOADING = "The embedding model is loading…"


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> Iterator[Path]:
    """A fresh data dir for the page (and no LLM)."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    for var in ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def boots() -> Iterator[list[Boot]]:
    """Boots a test makes; each is let finish and its Docent closed afterwards."""
    made: list[Boot] = []
    yield made
    for boot in made:
        boot.wait(300)
        if boot.app is not None:
            boot.app.close()


def _held(gate: threading.Event) -> Callable[[Settings], Docent]:
    """Build the real Docent, but only once ``gate`` opens."""

    def build(settings: Settings) -> Docent:
        assert gate.wait(300), "the test never let the model load"
        return Docent(settings)

    return build


def _script() -> None:
    import streamlit as st

    from ui.page import page

    page(st.session_state["boot"], st.session_state.get("wait_s"))


def _session(boot: Boot, wait_s: float | None = 0.3) -> AppTest:
    """A new browser session on the page, its first run done (a first run waits ``wait_s``
    for a loading model)."""
    at = AppTest.from_function(_script, default_timeout=300)
    at.session_state["boot"] = boot
    at.session_state["wait_s"] = wait_s
    at.run()
    assert not at.exception, at.exception
    return at


def _sidebar_text(at: AppTest) -> str:
    parts = [c.value for c in at.sidebar.caption] + [h.value for h in at.sidebar.subheader]
    return "\n".join(parts + [p.text for p in at.sidebar.progress])


def test_sessions_see_the_page_while_the_model_loads_and_queued_files_get_indexed(
    app_env: Path, boots: list[Boot]
) -> None:
    gate = threading.Event()
    boots.append(boot := Boot(get_settings(), build=_held(gate)))
    first, second = _session(boot), _session(boot)
    for at in (first, second):
        assert at.status[0].label.startswith("Loading the embedding model")
        assert at.chat_input[0].disabled and at.chat_input[0].placeholder == LOADING
        assert "Welcome to Docent" in at.info[0].value
        assert "0 documents" in _sidebar_text(at) and at.sidebar.file_uploader
    first.sidebar.file_uploader[0].set_value([("facts.pdf", make_pdf(FACTS), "application/pdf")])
    first.run()
    next(b for b in first.sidebar.button if b.label == "Index").click()
    first.run()
    second.run()
    for at in (first, second):  # the upload waits where every session on it can see it
        assert not at.exception, at.exception
        assert "Indexing 1 file(s)… waiting for the embedding model" in _sidebar_text(at)
    assert boot.phase == "loading"  # nothing was indexed, or could be, without the model

    gate.set()
    assert boot.wait(300) and boot.phase == "ready" and boot.jobs is not None
    upload = boot.upload(first.session_state["queued_id"])
    assert upload is not None and upload.job_id is not None and not upload.sources
    job = boot.jobs.get(upload.job_id)
    assert job is not None and boot.jobs.wait(job, 300)
    assert [r.status for r in job.results or []] == ["indexed"]

    first.run()
    second.run()
    for at in (first, second):
        assert not at.exception, at.exception
        assert not at.status and not at.chat_input[0].disabled
        assert "1 document" in _sidebar_text(at)
    for at in (first, second):  # how it ended, in every tab: a reload is a new session too
        assert "**indexed**: facts\\.pdf" in _sidebar_text(at)
    second.chat_input[0].set_value("How do honey bees tell direction?")
    second.run()
    assert "waggle dance" in second.chat_message[-1].markdown[0].value


def test_a_first_visit_during_loading_ends_on_the_full_page(
    app_env: Path, boots: list[Boot]
) -> None:
    # What AppTest, and the browser tests' wait for the uploader, rely on: a session's first
    # run waits for the model, then the page reruns in full.
    gate = threading.Event()
    boots.append(boot := Boot(get_settings(), build=_held(gate)))
    threading.Timer(1.0, gate.set).start()
    at = _session(boot, wait_s=None)
    assert boot.phase == "ready"
    assert not at.status and at.chat_input[0].placeholder == "Upload documents first"
    assert "Collection" in [s.label for s in at.sidebar.selectbox]  # the full library


def test_signing_in_works_while_the_model_loads(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, boots: list[Boot]
) -> None:
    monkeypatch.setenv("DOCENT_AUTH", "accounts")
    get_settings.cache_clear()
    settings = get_settings()
    Accounts(open_database(settings), settings).add("ann", "correct horse")
    gate = threading.Event()
    boots.append(boot := Boot(settings, build=_held(gate)))
    at = _session(boot)
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    assert not at.sidebar.file_uploader and not at.chat_input  # nothing before signing in
    inputs = {t.label: t for t in at.text_input}
    inputs["Name"].input("ann")
    inputs["Password"].input("correct horse")
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert boot.phase == "loading"
    assert "Signed in as **ann**" in _sidebar_text(at)
    assert at.session_state["collection"] == "ann-docs"  # her own, as once the model is there
    assert at.status[0].label.startswith("Loading") and at.sidebar.file_uploader
    gate.set()
    assert boot.wait(300) and boot.phase == "ready"
    at.run()
    assert not at.exception and not at.status
    assert "Signed in as **ann**" in _sidebar_text(at)
    assert at.session_state["collection"] == "ann-docs"


def test_a_failed_start_is_shown_in_every_session_and_can_be_tried_again(
    app_env: Path, tmp_path: Path, boots: list[Boot]
) -> None:
    builds: list[str] = []

    def build(settings: Settings) -> Docent:
        # The first attempt names a model that is not there: the real loader's real error.
        model = str(tmp_path / "no-such-model") if not builds else settings.embedding_model
        builds.append(model)
        return Docent(settings.model_copy(update={"embedding_model": model}))

    boots.append(boot := Boot(get_settings(), build=build))
    assert boot.wait(300) and boot.phase == "failed"
    sessions = [_session(boot), _session(boot)]
    for at in sessions:
        assert "Docent could not start: cannot load embedding model" in at.error[0].value
        assert [b.label for b in at.button] == ["Try again"]
        assert not at.status  # no status promising that it is still loading
    next(b for b in sessions[0].button if b.label == "Try again").click()
    sessions[0].run()
    assert boot.wait(300) and boot.phase == "ready" and len(builds) == 2
    for at in sessions:
        at.run()
        assert not at.exception and not at.error, at.error
        assert "0 documents" in _sidebar_text(at) and at.chat_input


def test_a_page_that_sees_docent_ready_finds_its_queued_uploads_job(
    app_env: Path, boots: list[Boot], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page reads boot.app and boot.jobs without the lock. They were set before the queued
    # uploads became jobs: a page drawn in between found no job (no progress, nothing to
    # poll), so it never said how the upload ended (a browser test's rare failure in CI).
    submit = Boot._submit

    def slow(upload: QueuedUpload, app: Docent, jobs: IngestJobs) -> None:
        time.sleep(1.0)  # the window a page could fall into, made wide
        submit(upload, app, jobs)

    monkeypatch.setattr(Boot, "_submit", staticmethod(slow))
    gate = threading.Event()
    boots.append(boot := Boot(get_settings(), build=_held(gate)))
    upload = boot.queue("default", User.local(), [Source.from_bytes("f.md", b"# F\nBees.\n")])
    seen: list[str | None] = []

    def watch() -> None:  # as a page does: the first moment Docent is there
        while boot.app is None or boot.jobs is None:
            time.sleep(0.005)
        seen.append(upload.job_id)

    watcher = threading.Thread(target=watch)
    watcher.start()
    gate.set()
    watcher.join(300)
    assert seen and seen[0] is not None


def test_uploads_queued_from_many_threads_as_loading_ends_are_each_indexed_once(
    app_env: Path, boots: list[Boot]
) -> None:
    # Sessions run on their own threads: an upload queued just as the model arrives must be
    # handed to the indexer exactly once, neither lost nor doubled.
    gate = threading.Event()
    boots.append(boot := Boot(get_settings(), build=_held(gate)))
    texts = [f"# Note {i}\nThe code word number {i} is token{i}x.\n".encode() for i in range(8)]
    uploads = []

    def send(i: int) -> None:
        if i == 4:
            gate.set()
        sources = [Source.from_bytes(f"n{i}.md", texts[i])]
        uploads.append(boot.queue("default", User.local(), sources))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert boot.wait(300) and boot.phase == "ready" and boot.jobs is not None
    ids = [u.job_id for u in uploads]
    assert None not in ids and len(set(ids)) == len(texts)
    for job_id in ids:
        job = boot.jobs.get(job_id)
        assert job is not None and boot.jobs.wait(job, 300)
        assert [r.status for r in job.results or []] == ["indexed"]
    assert len(boot.app.collection().documents()) == len(texts)  # type: ignore[union-attr]
