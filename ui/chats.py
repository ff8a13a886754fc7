"""Saved chats in the sidebar: new, search, reopen, rename, download, delete."""

from __future__ import annotations

import re
from datetime import datetime

import streamlit as st

from rag.access import AccessDenied, User
from rag.chats import Chat
from rag.render import plain
from rag.system import Docent
from rag.transcript import chat_markdown
from ui.state import new_chat, show_chat_in_address, state

SHOWN = 30  # chats listed at once (search finds the rest)


def chats_panel(app: Docent, user: User) -> None:
    """The user's chats, newest first, and what can be done with the one on screen."""
    s = state()
    st.header("💬 Chats")
    if st.button("➕ New chat", disabled=not s.messages, key="new-chat"):
        new_chat()
        st.rerun()
    search = st.text_input("Search chats", key="chat_search", placeholder="Search by title")
    for chat in app.chats.chats(user, search)[:SHOWN]:
        when = datetime.fromtimestamp(chat.updated_at).strftime("%d %b %H:%M")
        current = chat.id == s.chat_id
        if st.button(
            f"{plain(chat.title)}  \n{when} · {plain(chat.collection)}",
            key=f"chat-{chat.id}",
            type="primary" if current else "secondary",
            width="stretch",
        ):
            open_chat(app, user, chat.id)
    if s.chat_id is not None:
        current_chat(app, user)


def open_chat(app: Docent, user: User, chat_id: str) -> None:
    """Put a saved chat on screen, in its own collection; follow-ups continue it."""
    _show(app, user, app.chats.get(user, chat_id))
    st.rerun()


def restore_chat(app: Docent, user: User) -> None:
    """On a fresh session (a reload, a bookmark), reopen the chat the address names, if it
    is this user's; an address naming another's chat, or a deleted one, is cleared."""
    s = state()
    wanted = st.query_params.get("chat")
    if not wanted or s.chat_id is not None or s.messages:
        return
    try:
        _show(app, user, app.chats.get(user, wanted))
    except AccessDenied:
        show_chat_in_address(None)


def _show(app: Docent, user: User, chat: Chat) -> None:
    """Put ``chat`` on screen; if its collection was deleted since, the chat is shown as it
    was, read-only, and the current collection stays (reopening it would bring the deleted
    one back as an empty "phantom")."""
    s = state()
    s.chat_id, s.messages = chat.id, app.chats.messages(user, chat.id)
    s.gone_collection = None
    if chat.collection in app.library.collections():
        s.collection = chat.collection
    else:
        s.gone_collection = chat.collection
    show_chat_in_address(chat.id)


def current_chat(app: Docent, user: User) -> None:
    """Rename, download or delete the chat on screen."""
    s = state()
    try:
        chat = app.chats.get(user, s.chat_id)
    except AccessDenied:  # deleted in another tab
        new_chat()
        return
    with st.expander("This chat"):
        title = st.text_input("Title", value=chat.title, key=f"title-{chat.id}")
        if st.button("Rename", key="rename-chat"):
            try:
                app.chats.rename(user, chat.id, title)
                st.rerun()
            except ValueError as exc:
                st.error(plain(str(exc)))
        st.download_button(
            "⬇️ Download as Markdown",
            data=chat_markdown(
                app.chats.messages(user, chat.id),
                title=chat.title,
                now=datetime.fromtimestamp(chat.updated_at),  # the chat's date, not today's
            ),
            file_name=download_name(chat.title),
            mime="text/markdown",
            key="download-chat",
        )
        sure = st.checkbox("Yes, delete this chat", key=f"sure-chat-{chat.id}")
        if st.button("Delete chat", disabled=not sure, key="delete-chat"):
            app.chats.delete(user, chat.id)
            new_chat()
            st.rerun()


def download_name(title: str) -> str:
    """A file name from the chat's title ("Which port does R use?" -> "Which-port-does-R-use.md"),
    so several downloads do not all land as the same file; only letters, digits, ``.-_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")[:60].rstrip("-.")
    return f"{stem or 'docent-chat'}.md"
