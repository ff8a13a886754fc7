"""The page while the embedding model loads: sign-in, the library and uploads work already.

A session's first run draws this page and then waits for the model, updating its status each
second: each update is a point where Streamlit can end the run for a click, so the page stays
live, and a harness that waits for the run (``AppTest``) gets the full page, as before. A later
run (after a click) draws the page and ends, so nothing from the run before lingers on screen;
its status is a fragment, rerun a second later, that itself waits for the model (up to half a
minute a run). Polling instead, a fragment run each second, cost the server about 0.2 s of CPU
a run on a busy 2-core machine, taken from the loading model (4 s more CPU to the first
answer). Once the model is ready the page reruns in full. If loading fails, every session sees
why, with a button to try again.
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.elements.lib.mutable_status_container import StatusContainer

from ingest.pipeline import Source
from rag.access import AccessDenied, User, allowed, require, role_of
from rag.config import get_settings
from rag.render import plain
from ui.boot import Boot, Front, QueuedUpload
from ui.chat import first_run
from ui.library import collection_from_address, document_list, start_collection, uploader
from ui.settings import settings_panel
from ui.signin import account_box, current_user
from ui.state import state

TICK_S = 0.5  # how often a waiting run checks on the model
POLL_S = 1.0  # the status fragment reruns this long after a run of it ends...
FRAGMENT_WAIT_S = 30.0  # ...and each of its runs waits this long (timer ticks meanwhile wait)


def loading_page(boot: Boot, wait_s: float | None = None) -> None:
    """Draw the page without the model; on the session's first run, wait for it.

    Args:
        boot: the process's :class:`Boot`.
        wait_s: how long that first run waits before it ends (None: until the model is ready
            or has failed); the status fragment waits after that.
    """
    s = state()
    s.drawing = True  # the status fragment must not wait while the rest is still to draw
    try:
        box = draw(boot)
    finally:
        s.drawing = False
    if box is None or s.get("waited"):
        return
    s.waited = True
    if wait(boot, box, wait_s):
        st.rerun()  # the full page, or why it failed


def draw(boot: Boot) -> StatusContainer | None:
    """Everything that needs no model; the status (None: failed, nothing to wait for)."""
    front = opened(boot)
    user = current_user(front)  # the sign-in page (and the end of this run) if nobody is in
    s = state()
    if s.collection is None:
        s.collection = collection_from_address(front.store, user) or start_collection(
            front.settings, front.store, user
        )
    with st.sidebar:
        account_box(front, user)
        st.header("📚 Library")
        has_docs = waiting_library(boot, front, user, s.collection)
        active = settings_panel()
    st.title("Docent")
    st.caption("Answers grounded in your documents, with citations you can open.")
    if boot.phase == "failed":
        failed(boot)
        return None
    box = status(boot)
    if not has_docs and not s.messages:
        first_run(active or get_settings())
    st.chat_input("The embedding model is loading…", disabled=True)
    return box


@st.fragment(run_every=POLL_S)
def status(boot: Boot) -> StatusContainer | None:
    """The model's loading status; once it is over, the whole page again."""
    if boot.phase in ("ready", "failed"):
        st.rerun(scope="app")
        return None
    box = st.status(_label(boot), state="running")
    box.write(
        "Questions and indexing start as soon as it is ready. You can already add files in "
        "the sidebar: they are indexed then, even if you close this page."
    )
    if not state().get("drawing") and wait(boot, box, FRAGMENT_WAIT_S):  # a timed rerun
        st.rerun(scope="app")
    return box


def opened(boot: Boot) -> Front:
    """The database side of Docent (waiting the moment it takes to open); stops the run with
    the reason if it cannot be opened."""
    if not boot.wait_front(TICK_S):
        with st.spinner("Opening the library…"):
            while not boot.wait_front(TICK_S):
                pass
    if boot.front is None:
        st.title("Docent")
        failed(boot)
        st.stop()
    return boot.front


def waiting_library(boot: Boot, front: Front, user: User, name: str) -> bool:
    """The collection's documents (read from the database) and an uploader that queues;
    whether the collection has documents."""
    st.caption(f"Collection: **{plain(name)}**")
    exists, owner, grants = front.store.rows(name).access()
    role = role_of(user, owner, grants) if exists else role_of(user, user.name, {})
    try:
        require(user, role, "read", name)  # what the library will check again when it opens
    except AccessDenied as exc:
        st.error(plain(str(exc)))
        return False
    if allowed(role, "write"):
        uploader(lambda sources: _queue(boot, name, user, sources))
    for upload in boot.waiting(name):
        show_waiting(upload, user)
    docs = front.store.rows(name).documents()
    document_list(docs)
    return bool(docs)


def _queue(boot: Boot, name: str, user: User, sources: list[Source]) -> None:
    state().queued_id = boot.queue(name, user, sources).id


def show_waiting(upload: QueuedUpload, viewer: User) -> None:
    """An upload waiting for the model (and whose it is, if not the viewer's)."""
    whose = "" if upload.user.name == viewer.name else f" for {plain(upload.user.name)}"
    st.progress(
        0.0, text=f"Indexing {len(upload.files)} file(s){whose}… waiting for the embedding model"
    )


def wait(boot: Boot, box: StatusContainer, wait_s: float | None) -> bool:
    """Wait for the build to end, updating ``box`` when its seconds change (each update lets
    Streamlit end the run for a click); False if ``wait_s`` ran out first."""
    deadline = None if wait_s is None else time.monotonic() + wait_s
    shown = _label(boot)
    while not boot.wait(TICK_S):
        if (label := _label(boot)) != shown:
            box.update(label=label)
            shown = label
        if deadline is not None and time.monotonic() > deadline:
            return False
    return True


def failed(boot: Boot) -> None:
    """Why Docent could not start, and a way to try again."""
    st.error(f"Docent could not start: {plain(boot.error or 'unknown error')}")
    if st.button("Try again", key="boot-retry"):
        boot.retry()
        st.rerun()


def adopt_queued(boot: Boot) -> None:
    """Once ready: the session follows the job its queued upload became."""
    s = state()
    upload = boot.upload(s.get("queued_id"))
    if upload is not None and upload.job_id is not None:
        s.job_id, s.queued_id = upload.job_id, None


def _label(boot: Boot) -> str:
    return f"Loading the embedding model… {boot.elapsed:.0f} s"
