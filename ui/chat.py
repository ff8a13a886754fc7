"""The chat itself: the messages on screen, the question box, and a streamed, saved answer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import streamlit as st

from rag.access import AccessDenied, User, allowed
from rag.config import Settings, get_settings
from rag.render import plain, safe_markdown
from rag.system import Docent
from ui.answer_view import answer_text, show_answer
from ui.state import show_chat_in_address, state

REDRAW_S = 0.1  # the streamed draft is redrawn at most this often


def sources_anchor(index: int) -> str:
    """The id of the sources of the chat's ``index``-th message (its citations link there)."""
    return f"docent-sources-{index}"


def chat(app: Docent, user: User, active: Settings | None) -> None:
    """The chat on screen and the question box (disabled while ``active`` is None)."""
    s = state()
    answers = [m["answer"] for m in s.messages if m.get("answer")]
    ids = [src["chunk_id"] for a in answers for src in a["sources"]]
    gone = app.chats.gone(s.collection, ids)
    for i, message in enumerate(s.messages):
        with st.chat_message(message["role"]):
            if message.get("answer"):
                anchor = sources_anchor(i)
                st.markdown(answer_text(message["answer"], anchor))
                show_answer(message["answer"], gone, anchor)
            else:
                st.markdown(safe_markdown(message["content"]))
                if message["role"] == "user" and unanswered(s.messages, i):
                    st.caption(
                        "No answer was saved: the page was closed or reloaded while it "
                        "was being written."
                    )
    try:
        collection = app.collection(s.collection, user)
    except AccessDenied as exc:
        st.error(plain(str(exc)))
        return
    has_docs = bool(collection.documents())
    if not has_docs and not s.messages:
        first_run(active or get_settings())
    elif not s.messages:  # an empty page says what to do next
        st.caption("Ask a question below: the answer quotes and cites the passages it used.")
    if s.gone_collection:
        st.info(
            f"This chat's collection “{plain(s.gone_collection)}” has been deleted: the chat "
            "is shown as it was. Start a ➕ New chat to ask about your other documents."
        )
    empty = "Upload documents first" if allowed(collection.role, "write") else "No documents yet"
    question = st.chat_input(
        "Ask a question about your documents" if has_docs else empty,
        # Mid-chat the box stays open even if the documents went (deleted elsewhere): a
        # question sent as they went would otherwise vanish without a word.
        disabled=(not has_docs and not s.messages) or active is None or bool(s.gone_collection),
        max_chars=get_settings().max_question_tokens * 8,  # the token limit is checked in rag
    )
    if question and not has_docs:
        st.warning(
            f"“{plain(s.collection)}” has no documents any more, so this was not asked: "
            f"“{plain(question)}”"
        )
    elif question and active is not None:
        ask(app, user, question, active)


def unanswered(messages: list[dict[str, Any]], i: int) -> bool:
    """Whether question ``i`` has no answer after it (the session ended mid-answer)."""
    return i + 1 == len(messages) or messages[i + 1]["role"] == "user"


def first_run(active: Settings) -> None:
    """Three lines for a new user."""
    llm = (
        "An LLM is configured: answers are written by it and cited."
        if active.llm_configured
        else "No LLM is configured: Docent quotes the most relevant sentences, cited. "
        + _written_answers(active)
    )
    st.info(
        "**Welcome to Docent.**  \n"
        "1. Upload PDFs, Word, Markdown, reStructuredText, text, HTML or CSV files in the "
        "sidebar and press *Index*.  \n"
        "2. Ask a question below; every answer cites the passages it used.  \n"
        f"3. {llm}"
    )


def _written_answers(active: Settings) -> str:
    """How to get written answers, for whoever reads the page: the server's settings are
    the operator's business, not a signed-in user's."""
    if active.auth == "none":
        return "Set `DOCENT_LLM_BASE_URL` or `OPENAI_API_KEY` for written answers."
    if active.user_endpoints_allowed:
        return "For written answers, add your own LLM endpoint under ⚙️ Settings."
    return "Your administrator can configure an LLM for written answers."


def ask(app: Docent, user: User, question: str, active: Settings) -> None:
    """Stream one answer, keep it on screen and save it in the user's chat."""
    s = state()
    # A failed answer's text is Docent's error message, not the conversation: the model
    # would read "The LLM endpoint failed..." as something it said.
    history = [
        (m["role"], m["content"])
        for m in s.messages
        if (m.get("answer") or {}).get("mode") != "error"
    ]
    asked: dict[str, Any] = {"role": "user", "content": question, "answer": None}
    # The question is saved (and the chat named in the address) before the answer is
    # written: a reload or a closed tab mid-answer keeps the chat and its question.
    created = s.chat_id is None
    if created:
        s.chat_id = app.chats.create(user, s.collection, question).id
        show_chat_in_address(s.chat_id)
    app.chats.add(user, s.chat_id, [asked])
    s.messages.append(asked)
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    with st.chat_message("assistant"):
        stream = app.ask(question, s.collection, history, settings=active, user=user)
        # With an LLM the wait is mostly the model's: say so (it may take a while to start)
        asking = f", then asking {active.llm_model}" if active.llm_configured else ""
        with st.spinner(f"Searching your documents{plain(asking)}…"):
            first = next(iter(stream), "")
        slot = st.empty()
        draw_draft(slot, _chain(first, stream))
        answer = stream.result.to_dict()
        # The streamed draft gives way to the checked answer: invalid citations removed, the
        # ones Docent found added, sentences no source supports noted.
        anchor = sources_anchor(len(s.messages))
        slot.markdown(answer_text(answer, anchor))
        show_answer(answer, anchor=anchor)
    replied = {"role": "assistant", "content": answer["answer"], "answer": answer}
    s.messages.append(replied)
    app.chats.add(user, s.chat_id, [replied])
    if created:  # the sidebar was drawn before the chat existed: draw it again, listing it
        st.rerun()


def draw_draft(
    slot: Any, deltas: Iterable[str], clock: Callable[[], float] = time.monotonic
) -> str:
    """Draw a streamed answer into ``slot`` (one element) with a cursor as it arrives; its text.

    Redrawn at most every :data:`REDRAW_S`: each draw makes the whole text safe again, and a
    long answer arriving token by token would spend its time doing just that.
    """
    text, shown = "", -math.inf
    for delta in deltas:
        text += delta
        if clock() - shown >= REDRAW_S:
            slot.markdown(safe_markdown(text) + " ▌")
            shown = clock()
    return text


def _chain(first: str, rest: Any) -> Iterator[str]:
    yield first
    yield from rest
