"""Docent's Streamlit UI: the page, assembled from ``ui``; the logic lives in ``rag``/``ingest``."""

from __future__ import annotations

import streamlit as st

from ingest.jobs import IngestJobs
from rag.config import get_settings
from rag.system import Docent
from ui.chat import chat
from ui.chats import chats_panel
from ui.library import library_panel, start_collection
from ui.settings import settings_panel
from ui.signin import account_box, current_user, guard_local
from ui.state import state

st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")


@st.cache_resource(show_spinner="Loading the embedding model…")
def docent() -> Docent:
    """One Docent (model, library, loaded rerankers) per server process, shared by sessions."""
    return Docent(get_settings())


@st.cache_resource
def ingest_jobs() -> IngestJobs:
    """The background indexer, shared by sessions: uploads are indexed whatever they do."""
    app = docent()
    return IngestJobs(app.embedder, app.settings)


def main() -> None:
    """Render the page."""
    guard_local(get_settings())
    app = docent()
    s = state()
    user = current_user(app)
    if s.collection is None:
        s.collection = start_collection(app, user)
    with st.sidebar:
        account_box(app, user)
        chats_panel(app, user)
        library_panel(app, user, ingest_jobs())
        active = settings_panel()
    st.title("Docent")
    st.caption("Answers grounded in your documents, with citations you can open.")
    chat(app, user, active)


main()
