"""This session's settings: a model the server offers (or the session's own endpoint, with
its own key, where allowed) and retrieval knobs. The server's key is never shown or moved.

The retrieval knobs a session changed from the server's defaults are kept in the page's
address (``?top_k=8&reranker=maxsim``), like the chat on screen, so a reload or a bookmark
keeps them; endpoints and keys never go there."""

from __future__ import annotations

import re

import streamlit as st

from rag.config import RERANKERS, Settings, get_settings
from rag.render import plain
from rag.session import SessionChoiceError, SessionChoices, session_settings
from ui.state import state

CHOICES = ("top_k", "hybrid", "reranker", "llm_model", "own_base_url", "own_api_key", "own_model")
TOP_K = (1, 15)  # the slider's usual range
Knobs = dict[str, int | bool | str]  # the retrieval knobs: top_k, hybrid, reranker


def active_settings() -> Settings:
    """The settings this session's questions run with (its choices applied).

    Raises:
        SessionChoiceError: the session chose something the server does not offer.
    """
    s = state()
    choices = SessionChoices(**{k: s.get(k) for k in CHOICES})
    if not s.get("use_own_endpoint"):
        choices.own_base_url = None
    return session_settings(get_settings(), s.collection, choices)


def rerankers(base: Settings) -> list[str]:
    """The reranker choices that can run here: a cross-encoder only when one is configured,
    the LLM grader only with an LLM (the server's, or the session's own endpoint)."""
    s = state()
    own = bool(s.get("use_own_endpoint") and s.get("own_base_url"))
    runs = {"cross-encoder": bool(base.cross_encoder), "llm": base.llm_configured or own}
    return [r for r in RERANKERS if runs.get(r, True)]


def settings_panel() -> Settings | None:
    """The settings expander; the settings that apply (None: a choice the server refuses)."""
    base = get_settings()
    # keyed, so it stays open when the chat list above it grows (a new chat is listed)
    with st.expander("⚙️ Settings", key="settings_panel"):
        if base.llm_configured:
            st.selectbox("LLM model", base.allowed_llm_models, key="llm_model")
        if base.user_endpoints_allowed and st.toggle(
            "Use my own LLM endpoint", key="use_own_endpoint"
        ):
            st.text_input(
                "Endpoint base URL",
                key="own_base_url",
                placeholder="https://api.openai.com/v1 or http://localhost:11434/v1",
            )
            st.text_input("Model at that endpoint", key="own_model")
            st.text_input(
                "Your API key for it (kept in this session only)",
                key="own_api_key",
                type="password",
            )
        if base.llm_configured:
            st.caption(
                "The server's LLM key (OPENAI_API_KEY / DOCENT_LLM_API_KEY or "
                "`.streamlit/secrets.toml`) is never shown and never sent to your own endpoint."
            )
        offered = rerankers(base)
        if state().get("reranker") not in (None, *offered):  # e.g. the own endpoint went
            del state()["reranker"]
        defaults = server_knobs(base, offered)
        for key, value in address_knobs(defaults, offered).items():
            state().setdefault(key, value)  # the widgets below take their value from here
        st.slider("Passages per answer (top-k)", TOP_K[0], top_k_max(defaults), key="top_k")
        st.toggle("Hybrid search (BM25 + dense)", key="hybrid")
        st.selectbox(
            "Reranker",
            offered,
            key="reranker",
            help="auto: a configured cross-encoder, else the learned second pass.  \n"
            "learned: Docent's offline model over similarity and term features.  \n"
            "maxsim: passages re-scored by their best sentence.  \n"
            "llm: the LLM grades the top passages (one extra call per question).  \n"
            "none: the fused BM25 + dense order.",
        )
        keep_in_address(defaults)
    try:
        active = active_settings()  # what questions will use: the caption can't disagree
    except SessionChoiceError as exc:
        st.error(plain(str(exc)))
        return None
    if active.llm_configured:
        where = "your endpoint" if active.llm_base_url != base.llm_base_url else "server"
        st.caption(f"LLM: {plain(active.llm_model)} ({where})")
    else:
        st.caption("No LLM configured: answers are extractive (quoted sentences).")
    return active


def server_knobs(base: Settings, offered: list[str]) -> Knobs:
    """The server's retrieval defaults, as this session's widgets can show them."""
    reranker = base.reranker if base.reranker in offered else offered[0]
    return {"top_k": base.top_k, "hybrid": base.hybrid, "reranker": reranker}


def address_knobs(defaults: Knobs, offered: list[str]) -> Knobs:
    """The retrieval knobs a session starts with: the page address's where valid (a reload
    or a bookmark; anything else there is ignored), else ``defaults``."""
    knobs = dict(defaults)
    asked = st.query_params
    # digits only, and few: "²".isdigit() is true and int() of 5,000 digits raises
    top_k = asked.get("top_k", "")
    if re.fullmatch(r"[0-9]{1,3}", top_k) and TOP_K[0] <= int(top_k) <= top_k_max(defaults):
        knobs["top_k"] = int(top_k)
    if asked.get("hybrid") in ("on", "off"):
        knobs["hybrid"] = asked["hybrid"] == "on"
    if asked.get("reranker") in offered:
        knobs["reranker"] = asked["reranker"]
    return knobs


def top_k_max(defaults: Knobs) -> int:
    """The slider's top: its usual range, or the server's default if that is higher."""
    return max(TOP_K[1], int(defaults["top_k"]))


def keep_in_address(defaults: Knobs) -> None:
    """Name in the page's address the knobs that differ from ``defaults`` (and only those:
    an unchanged session keeps a clean address)."""
    for key, default in defaults.items():
        value = state()[key]
        if value == default:
            if key in st.query_params:
                del st.query_params[key]
        else:
            text = ("on" if value else "off") if isinstance(value, bool) else str(value)
            if st.query_params.get(key) != text:
                st.query_params[key] = text
