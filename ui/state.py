"""One browser session's state, with its defaults in one place."""

from __future__ import annotations

from typing import Any

import streamlit as st


def state() -> Any:
    """This session's state: current collection, chat, messages, sign-in and upload round."""
    s = st.session_state
    s.setdefault("collection", None)  # set once we know who is here (see start_collection)
    s.setdefault("chat_id", None)  # the saved chat on screen; None: a new one on first question
    s.setdefault("messages", [])  # {"role", "content", "answer"}: the chat on screen
    s.setdefault("gone_collection", None)  # the chat on screen's collection, deleted since
    s.setdefault("seen_collection", None)  # the collection on screen, once seen to exist
    s.setdefault("token", None)  # a signed-in session (accounts)
    s.setdefault("job_id", None)  # this session's latest indexing job
    s.setdefault("queued_id", None)  # files it sent while the model loaded (ui.boot)
    s.setdefault("upload_round", 0)  # bumped to give a fresh, empty uploader
    return s


def new_chat() -> None:
    """Leave the chat on screen (it stays saved); the next question starts another."""
    s = state()
    s.chat_id, s.messages, s.gone_collection = None, [], None
    show_chat_in_address(None)


def show_chat_in_address(chat_id: str | None) -> None:
    """Name the chat on screen in the page's address (``?chat=ID``), so a reload or a
    bookmark reopens it (:func:`ui.chats.restore_chat`); ``None`` removes it."""
    if chat_id is not None:
        st.query_params["chat"] = chat_id
    elif "chat" in st.query_params:
        del st.query_params["chat"]
