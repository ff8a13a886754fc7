"""Docent's Streamlit UI: layout and wiring only; the logic lives in ``ingest`` and ``rag``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from ingest.loaders import SUPPORTED
from ingest.pipeline import Progress, Source, ingest_sources
from ingest.results import FileResult
from rag.config import RERANKERS, Settings, check_collection_name, get_settings
from rag.lock import StoreBusyError
from rag.render import plain, safe_markdown
from rag.session import SessionChoiceError, SessionChoices, session_settings
from rag.system import Docent
from rag.transcript import chat_markdown, source_label

st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")

MODE_BADGES = {
    "llm": ("🧠", "Answer written by the LLM from the sources below."),
    "extractive": ("📎", "No LLM is configured: these sentences are quoted from your documents."),
    "not-found": ("🚫", "Your documents don't seem to cover this, so Docent did not guess."),
    "error": ("⚠️", "The LLM endpoint failed; the chat still works."),
}


@st.cache_resource(show_spinner="Loading the embedding model…")
def docent() -> Docent:
    """One Docent (model, library, loaded rerankers) per server process, shared by sessions."""
    return Docent(get_settings())


def state() -> Any:
    """This browser session's state, with defaults."""
    s = st.session_state
    s.setdefault("messages", [])  # {"role", "content", "result"}
    s.setdefault("ingesting", False)
    s.setdefault("queued", None)
    s.setdefault("last_results", [])
    s.setdefault("collection", get_settings().collection)
    return s


CHOICES = ("top_k", "hybrid", "reranker", "llm_model", "own_base_url", "own_api_key", "own_model")


def settings() -> Settings:
    """The settings this session's questions run with (its sidebar choices applied).

    Raises:
        SessionChoiceError: the session chose something the operator does not offer.
    """
    s = state()
    choices = SessionChoices(**{k: s.get(k) for k in CHOICES})
    if not s.get("use_own_endpoint"):
        choices.own_base_url = None
    return session_settings(get_settings(), s.collection, choices)


# -- sidebar -----------------------------------------------------------------------------------
def sidebar(app: Docent) -> None:
    """Library (collections, upload, documents) and settings."""
    with st.sidebar:
        st.header("📚 Library")
        collection_picker(app)
        uploader()
        documents(app)
        settings_panel()


def collection_picker(app: Docent) -> None:
    """Switch, create or delete collections."""
    s = state()
    names = sorted(set(app.library.collections()) | {s.collection})
    s.collection = st.selectbox(
        "Collection", names, index=names.index(s.collection), disabled=s.ingesting
    )
    with st.expander("New or delete collection"):
        new = st.text_input("New collection name", key="new_collection")
        if st.button("Create", disabled=not new):
            try:
                check_collection_name(new)
                s.collection, s.messages = new, []
                st.rerun()
            except ValueError as exc:
                st.error(plain(str(exc)))
        sure = st.checkbox(f"Yes, delete “{s.collection}” and its documents", key="sure")
        if st.button("Delete collection", disabled=not sure or s.ingesting, type="secondary"):
            try:
                app.library.delete_collection(s.collection)
                s.collection, s.messages = get_settings().collection, []
                st.rerun()
            except StoreBusyError as exc:
                st.error(plain(str(exc)))


def uploader() -> None:
    """Queue uploads; the next run indexes them with the chat input disabled."""
    s = state()
    # No `type=` filter: Streamlit would check names itself, before the script runs, and a
    # name it refuses (a NUL byte, another extension) replaces the page with a traceback.
    # Docent's loader checks each name and reports the ones it refuses, file by file.
    files = st.file_uploader(
        "Add documents",
        accept_multiple_files=True,
        disabled=s.ingesting,
        # The widget may only lower the server's cap; `make run` raises that cap to match.
        max_upload_size=get_settings().upload_limit_mb,
        key=f"uploader-{s.get('upload_round', 0)}",
        help="Docent reads " + ", ".join(sorted(SUPPORTED)),
    )
    if files and st.button("Index", type="primary", disabled=s.ingesting):
        s.queued = [(f.name, f.getvalue()) for f in files]
        s.ingesting = True
        st.rerun()
    for r in s.last_results:
        icon = {"indexed": "✅", "already indexed": "☑️", "replaced": "🔄", "failed": "❌"}.get(
            r.status, "⏭️"
        )
        detail = f" — {plain(r.reason)}" if r.reason else f" — {r.chunks} chunks"
        st.caption(f"{icon} **{r.status}**: {plain(r.name)}{detail}")


def documents(app: Docent) -> None:
    """The collection's documents, each with a delete button."""
    s = state()
    collection = app.collection(s.collection)
    docs = collection.documents()
    st.subheader(f"{len(docs)} document{'s' * (len(docs) != 1)}")
    for d in docs:
        cols = st.columns([5, 1])
        added = datetime.fromtimestamp(d.added_at).strftime("%Y-%m-%d %H:%M")
        pages = f"{d.pages} pages · " if d.pages else ""
        cols[0].markdown(f"**{plain(d.name)}**  \n{pages}{d.chunks} chunks · {added}")
        if cols[1].button(
            "🗑", key=f"del-{d.doc_id}", help=f"Delete {plain(d.name)}", disabled=s.ingesting
        ):
            try:
                collection.delete_document(d.doc_id)
                st.rerun()
            except StoreBusyError as exc:
                st.error(plain(str(exc)))


def settings_panel() -> None:
    """Model and retrieval knobs for this session; the operator's key is never shown or moved."""
    base = get_settings()
    with st.expander("⚙️ Settings"):
        if base.llm_configured:
            st.selectbox("LLM model", base.allowed_llm_models, key="llm_model")
        if base.user_endpoints_allowed:
            own = st.toggle("Use my own LLM endpoint", key="use_own_endpoint")
            if own:
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
        st.slider("Passages per answer (top-k)", 1, 15, base.top_k, key="top_k")
        st.toggle("Hybrid search (BM25 + dense)", value=base.hybrid, key="hybrid")
        st.selectbox(
            "Reranker",
            RERANKERS,
            index=RERANKERS.index(base.reranker),
            key="reranker",
            help="llm: the configured LLM grades the top passages (one extra call per question)",
        )
    try:
        active = settings()  # what ask() will use, so the caption can't disagree with it
    except SessionChoiceError as exc:
        st.error(plain(str(exc)))
        return
    if active.llm_configured:
        where = "your endpoint" if active.llm_base_url != base.llm_base_url else "server"
        st.caption(f"LLM: {plain(active.llm_model)} ({where})")
    else:
        st.caption("No LLM configured: answers are extractive (quoted sentences).")


# -- ingestion ---------------------------------------------------------------------------------
def run_queued_ingest(app: Docent) -> None:
    """Index what the uploader queued, with per-file progress; then re-enable the chat."""
    s = state()
    if not s.queued:
        s.ingesting = False
        return
    sources = [Source.from_bytes(name, data) for name, data in s.queued]
    with st.status(f"Indexing {len(sources)} file(s)…", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(p: Progress) -> None:
            share = (p.index + (p.done / p.of if p.of else 0)) / max(p.total, 1)
            bar.progress(min(share, 1.0), text=f"{plain(p.name)}: {p.stage}")

        try:
            results = ingest_sources(
                sources, app.collection(s.collection), app.embedder, app.settings, progress
            )
        except StoreBusyError as exc:
            results = [FileResult(src.name, "failed", reason=str(exc)) for src in sources]
        failed = sum(r.status == "failed" for r in results)
        status.update(
            label=f"Indexed {len(results) - failed} of {len(results)} file(s)",
            state="error" if failed == len(results) else "complete",
        )
    s.last_results, s.queued, s.ingesting = results, None, False
    s.upload_round = s.get("upload_round", 0) + 1  # clears the uploader
    st.rerun()


# -- chat --------------------------------------------------------------------------------------
def first_run(active: Settings) -> None:
    """Three lines for a new user."""
    llm = (
        "An LLM is configured: answers are written by it and cited."
        if active.llm_configured
        else "No LLM is configured: Docent quotes the most relevant sentences, cited. "
        "Set `DOCENT_LLM_BASE_URL` or `OPENAI_API_KEY` for written answers."
    )
    st.info(
        "**Welcome to Docent.**  \n"
        "1. Upload PDFs, Word, Markdown, text, HTML or CSV files in the sidebar and press "
        "*Index*.  \n2. Ask a question below; every answer cites the passages it used.  \n"
        f"3. {llm}"
    )


def show_answer(answer: dict[str, Any]) -> None:
    """Badge, sources and small print under an answer (its saved, JSON form)."""
    icon, why = MODE_BADGES[answer["mode"]]
    st.caption(f"{icon} {why}")
    cited = {c["number"] for c in answer["citations"]}
    for source in answer["sources"]:
        n = source["number"]
        mark = "📌 " if n in cited else ""
        with st.expander(f"{mark}[{n}] {plain(source_label(source))}"):
            if source["headings"]:
                st.caption(" › ".join(plain(h) for h in source["headings"]))
            st.markdown(safe_markdown(source["text"]))
            sc = source["scores"]
            graded = f" · LLM grade {sc['llm']:.0f}/10" if sc.get("llm") is not None else ""
            st.caption(
                f"rerank {fmt(sc['rerank'])} · dense {fmt(sc['dense'])} · "
                f"BM25 {fmt(sc['bm25'])} · fused #{sc['fused_rank']}{graded}"
            )
    st.caption(small_print(answer))


def small_print(answer: dict[str, Any]) -> str:
    """Mode, model, reranker, tokens, cost, time to first token, warnings."""
    t = answer["tokens"]
    parts = [
        f"mode {answer['mode']}",
        f"model {plain(answer['model'] or '—')}",
        f"reranker {plain(answer['reranker'])}",
    ]
    if t:
        parts.append(
            f"tokens {t.get('sources', 0)} sources / {t.get('history', 0)} history / "
            f"{t.get('answer', 0)} answer"
        )
    if answer["cost_usd"] is not None:
        parts.append(f"≈ ${answer['cost_usd']:.4f}")
    if "first_token" in answer["timings"]:
        parts.append(f"first token {answer['timings']['first_token']:.0f} ms")
    if answer["removed_citations"]:
        parts.append(f"{answer['removed_citations']} invalid citation(s) removed")
    parts += [f"⚠️ {plain(w)}" for w in answer["warnings"]]
    return " · ".join(parts)


def fmt(value: float | None) -> str:
    """A score, or a dash when that stage did not see the passage."""
    return "—" if value is None else f"{value:.3f}"


def chat(app: Docent) -> None:
    """History, input, streamed answer."""
    s = state()
    try:
        active: Settings | None = settings()
    except SessionChoiceError:
        active = None  # the settings panel says why; nothing is asked until it is fixed
    for message in s.messages:
        with st.chat_message(message["role"]):
            st.markdown(safe_markdown(message["content"]))
            if message.get("answer"):
                show_answer(message["answer"])
    has_docs = bool(app.collection(s.collection).documents())
    if not has_docs and not s.messages:
        first_run(active or get_settings())
    placeholder = (
        "Indexing… questions wait until it is done"
        if s.ingesting
        else ("Ask a question about your documents" if has_docs else "Upload documents first")
    )
    question = st.chat_input(
        placeholder,
        disabled=s.ingesting or not has_docs or active is None,
        max_chars=get_settings().max_question_tokens * 8,  # the token limit is checked in rag
    )
    if question and active is not None:
        ask(question, app, active)


def ask(question: str, app: Docent, active: Settings) -> None:
    """Stream one answer and keep it in this session's history."""
    s = state()
    history = [(m["role"], m["content"]) for m in s.messages]
    s.messages.append({"role": "user", "content": question, "answer": None})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    with st.chat_message("assistant"):
        stream = app.ask(question, s.collection, history, settings=active)
        with st.spinner("Searching your documents…"):
            first = next(iter(stream), "")
        slot, text = st.empty(), ""
        for delta in _chain(first, stream):  # streamed into one element, with a cursor
            text += delta
            slot.markdown(safe_markdown(text) + " ▌")
        answer = stream.result.to_dict()
        # The streamed draft gives way to the checked answer (invalid citations removed).
        slot.markdown(safe_markdown(answer["answer"]))
        show_answer(answer)
    s.messages.append({"role": "assistant", "content": answer["answer"], "answer": answer})


def _chain(first: str, rest: Any) -> Any:
    yield first
    yield from rest


def toolbar() -> None:
    """New chat and download."""
    s = state()
    cols = st.columns([1, 1, 6])
    if cols[0].button("🆕 New chat", disabled=not s.messages):
        s.messages = []
        st.rerun()
    cols[1].download_button(
        "⬇️ Download",
        data=chat_markdown(s.messages),
        file_name="docent-chat.md",
        mime="text/markdown",
        disabled=not s.messages,
    )


def main() -> None:
    """Render the page."""
    app = docent()
    s = state()
    sidebar(app)
    st.title("Docent")
    st.caption("Answers grounded in your documents, with citations you can open.")
    toolbar()
    status = st.container()  # indexing progress shows above the chat...
    chat(app)  # ...which is drawn first, so its input is already disabled
    if s.ingesting:
        with status:
            run_queued_ingest(app)


main()
