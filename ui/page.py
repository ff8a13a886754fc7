"""The whole page: the full app once Docent is ready, the loading page until then."""

from __future__ import annotations

import logging

import streamlit as st

from rag.database import DatabaseUnavailableError
from rag.render import plain
from ui.boot import Boot
from ui.chat import chat
from ui.chats import chats_panel, restore_chat
from ui.evaluate import evaluate_button
from ui.library import (
    collection_from_address,
    library_panel,
    show_collection_in_address,
    start_collection,
)
from ui.loading import adopt_queued, loading_page
from ui.settings import settings_panel
from ui.signin import account_box, current_user
from ui.state import state

log = logging.getLogger(__name__)


def outage(exc: Exception, operator: bool) -> None:
    """The database or the Chroma server went away while the page was drawn: say so (not a
    traceback), and offer to try again; nothing needs restarting once it is back. Only the
    person running Docent is shown where it is and how to start it."""
    log.error("%s", exc)
    detail = plain(str(exc)) if operator else "Your administrator has been told in the log."
    what = "database" if isinstance(exc, DatabaseUnavailableError) else "vector index (Chroma)"
    st.error(f"Docent cannot reach its {what} just now. {detail}")
    st.button("Try again", key="outage-retry")


def page(started: Boot, wait_s: float | None = None) -> None:
    """Render the page for this session (``guard_local`` has let it through).

    Args:
        started: the server process's :class:`Boot`.
        wait_s: how long a session's first run waits for a loading model before it ends
            (None: until it is ready; see :func:`ui.loading.loading_page`).
    """
    app, jobs = started.app, started.jobs
    if app is None or jobs is None:
        loading_page(started, wait_s)
        return
    adopt_queued(started)
    s = state()
    user = current_user(app)
    restore_chat(app, user)
    if s.collection is None:
        s.collection = collection_from_address(app.library.store, user) or start_collection(
            app.settings, app.library.store, user
        )
    with st.sidebar:
        account_box(app, user)
        chats_panel(app, user)
        library_panel(app, user, jobs, started)
        active = settings_panel()
        evaluate_button(app, user, s.collection, active)
    st.title("Docent")
    st.caption(
        "Answers grounded in your documents, with citations you can open. "
        f"Collection: **{plain(s.collection)}**"
    )
    show_collection_in_address(app.settings, s.collection)
    chat(app, user, active)
