"""Docent's Streamlit UI: the page, assembled from ``ui``; the logic lives in ``rag``/``ingest``."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from rag.config import get_settings
from rag.database import DatabaseUnavailableError
from rag.errors import invalid_settings
from rag.vectors import StoreUnavailableError
from ui.boot import Boot
from ui.page import outage, page
from ui.signin import guard_local

st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")


@st.cache_resource
def boot() -> Boot:
    """One Docent per server process, shared by sessions. It is built on a background thread
    that the first visit starts, so that visit sees the page at once (:mod:`ui.loading`)
    rather than a spinner until the embedding model has loaded."""
    return Boot(get_settings())


try:
    settings = get_settings()
except ValidationError as exc:  # a typo in .env: say which setting, not a traceback
    st.error(f"Docent's settings are not valid: {invalid_settings(exc)}")
    st.stop()
guard_local(settings)  # before anything loads: a refused page starts nothing
try:
    page(boot())
except (DatabaseUnavailableError, StoreUnavailableError) as exc:
    outage(exc, operator=settings.auth == "none")
