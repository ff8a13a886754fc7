"""Docent's Streamlit UI: layout and wiring only; the logic lives in ``ingest`` and ``rag``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

import rag  # noqa: F401 - offline environment before the libraries load
from ingest.loaders import SUPPORTED
from ingest.pipeline import FileResult, Progress, Source, ingest_sources
from rag.answer import Answerer, AnswerResult
from rag.config import Settings, check_collection_name, get_settings
from rag.embeddings import Embedder
from rag.library import Library
from rag.llm import ChatLLM
from rag.lock import StoreBusyError
from rag.prompt import source_label
from rag.render import plain, safe_markdown
from rag.rerank import Reranker, make_reranker
from rag.runtime import open_library
from rag.transcript import chat_markdown

st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")

MODE_BADGES = {
    "llm": ("🧠", "Answer written by the LLM from the sources below."),
    "extractive": ("📎", "No LLM is configured: these sentences are quoted from your documents."),
    "not-found": ("🚫", "Your documents don't seem to cover this, so Docent did not guess."),
    "error": ("⚠️", "The LLM endpoint failed; the chat still works."),
}


@st.cache_resource(show_spinner="Loading the embedding model…")
def resources() -> tuple[Library, Embedder]:
    """One library and one model per server process, shared by all sessions."""
    return open_library(get_settings())


RERANKERS = ["auto", "maxsim", "cross-encoder", "llm", "none"]


@st.cache_resource(show_spinner="Loading the reranker…")
def reranker(name: str, cross_encoder: str | None) -> tuple[Reranker, str | None]:
    """Rerankers are shared too (a cross-encoder is a model)."""
    choice = make_reranker(name, resources()[0].docs, cross_encoder)
    return choice.reranker, choice.warning


def state() -> Any:
    """This browser session's state, with defaults."""
    s = st.session_state
    s.setdefault("messages", [])  # {"role", "content", "result"}
    s.setdefault("ingesting", False)
    s.setdefault("queued", None)
    s.setdefault("last_results", [])
    s.setdefault("collection", get_settings().collection)
    return s


def session_settings() -> Settings:
    """Settings with this session's sidebar choices applied (the API key never comes from it)."""
    s = state()
    overrides = {
        k: s[k]
        for k in ("llm_base_url", "llm_model", "top_k", "hybrid", "reranker")
        if s.get(k) not in (None, "")
    }
    settings = get_settings()
    key = settings.llm_api_key or secret_key()  # env / .env first, then secrets.toml
    return settings.model_copy(update={**overrides, "collection": s.collection, "llm_api_key": key})


def secret_key() -> str | None:
    """An API key from `.streamlit/secrets.toml`, if that file exists and has one."""
    try:
        return st.secrets.get("DOCENT_LLM_API_KEY") or st.secrets.get("OPENAI_API_KEY")
    except Exception:  # Streamlit raises its own error when there is no secrets file
        return None


# -- sidebar -----------------------------------------------------------------------------------
def sidebar(library: Library, embedder: Embedder) -> None:
    """Library (collections, upload, documents) and settings."""
    with st.sidebar:
        st.header("📚 Library")
        collection_picker(library)
        uploader()
        documents(library)
        settings_panel()


def collection_picker(library: Library) -> None:
    """Switch, create or delete collections."""
    s = state()
    names = sorted(set(library.collections()) | {s.collection})
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
                st.error(str(exc))
        sure = st.checkbox(f"Yes, delete “{s.collection}” and its documents", key="sure")
        if st.button("Delete collection", disabled=not sure or s.ingesting, type="secondary"):
            try:
                library.delete_collection(s.collection)
                s.collection, s.messages = get_settings().collection, []
                st.rerun()
            except StoreBusyError as exc:
                st.error(str(exc))


def uploader() -> None:
    """Queue uploads; the next run indexes them with the chat input disabled."""
    s = state()
    files = st.file_uploader(
        "Add documents",
        type=[x.lstrip(".") for x in SUPPORTED],
        accept_multiple_files=True,
        disabled=s.ingesting,
        # The widget may only lower the server's cap; `make run` raises that cap to match.
        max_upload_size=get_settings().upload_limit_mb,
        key=f"uploader-{s.get('upload_round', 0)}",
    )
    if files and st.button("Index", type="primary", disabled=s.ingesting):
        s.queued = [(f.name, f.getvalue()) for f in files]
        s.ingesting = True
        st.rerun()
    for r in s.last_results:
        icon = {"indexed": "✅", "already indexed": "☑️", "replaced": "🔄", "failed": "❌"}[r.status]
        detail = f" — {plain(r.reason)}" if r.reason else f" — {r.chunks} chunks"
        st.caption(f"{icon} **{r.status}**: {plain(r.name)}{detail}")


def documents(library: Library) -> None:
    """The collection's documents, each with a delete button."""
    s = state()
    docs = library.documents(s.collection)
    st.subheader(f"{len(docs)} document{'s' * (len(docs) != 1)}")
    for d in docs:
        cols = st.columns([5, 1])
        added = datetime.fromtimestamp(d.added_at).strftime("%Y-%m-%d %H:%M")
        pages = f"{d.pages} pages · " if d.pages else ""
        cols[0].markdown(f"**{plain(d.name)}**  \n{pages}{d.chunks} chunks · {added}")
        if cols[1].button(
            "🗑", key=f"del-{d.doc_id}", help=f"Delete {d.name}", disabled=s.ingesting
        ):
            try:
                library.delete_document(s.collection, d.doc_id)
                st.rerun()
            except StoreBusyError as exc:
                st.error(str(exc))


def settings_panel() -> None:
    """LLM endpoint and retrieval knobs; the key is read from env / secrets only."""
    base = get_settings()
    with st.expander("⚙️ Settings"):
        st.text_input(
            "LLM base URL",
            value=base.llm_base_url or "",
            key="llm_base_url",
            placeholder="https://api.openai.com/v1 or http://localhost:11434/v1",
        )
        st.text_input("LLM model", value=base.llm_model, key="llm_model")
        key_set = "set" if session_settings().llm_api_key else "not set"
        st.caption(
            f"API key: {key_set} (OPENAI_API_KEY / DOCENT_LLM_API_KEY or "
            "`.streamlit/secrets.toml`; never shown here)"
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
    active = session_settings()  # what ask() will use, so the caption can't disagree with it
    if active.llm_configured:
        st.caption(f"LLM: {plain(active.llm_model)}")
    else:
        st.caption("No LLM configured: answers are extractive (quoted sentences).")


# -- ingestion ---------------------------------------------------------------------------------
def run_queued_ingest(library: Library, embedder: Embedder) -> None:
    """Index what the uploader queued, with per-file progress; then re-enable the chat."""
    s = state()
    if not s.queued:
        s.ingesting = False
        return
    sources = [Source.from_bytes(name, data) for name, data in s.queued]
    settings = session_settings()
    with st.status(f"Indexing {len(sources)} file(s)…", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(p: Progress) -> None:
            share = (p.index + (p.done / p.of if p.of else 0)) / max(p.total, 1)
            bar.progress(min(share, 1.0), text=f"{plain(p.name)}: {p.stage}")

        try:
            results = ingest_sources(sources, s.collection, library, embedder, settings, progress)
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
def first_run(library: Library, settings: Settings) -> None:
    """Three lines for a new user."""
    llm = (
        "An LLM is configured: answers are written by it and cited."
        if settings.llm_configured
        else "No LLM is configured: Docent quotes the most relevant sentences, cited. "
        "Set `DOCENT_LLM_BASE_URL` or `OPENAI_API_KEY` for written answers."
    )
    st.info(
        "**Welcome to Docent.**  \n"
        "1. Upload PDFs, Word, Markdown, text, HTML or CSV files in the sidebar and press "
        "*Index*.  \n2. Ask a question below; every answer cites the passages it used.  \n"
        f"3. {llm}"
    )


def show_answer(result: AnswerResult) -> None:
    """Badge, sources and small print under an answer."""
    icon, why = MODE_BADGES[result.mode]
    st.caption(f"{icon} {why}")
    cited = {c.number for c in result.citations}
    for n, p in enumerate(result.sources, start=1):
        mark = "📌 " if n in cited else ""
        with st.expander(f"{mark}[{n}] {source_label(p)}"):
            if p.headings:
                st.caption(" › ".join(p.headings))
            st.markdown(safe_markdown(p.text))
            sc = p.scores
            graded = f" · LLM grade {sc.llm:.0f}/10" if sc.llm is not None else ""
            st.caption(
                f"rerank {fmt(sc.rerank)} · dense {fmt(sc.dense)} · BM25 {fmt(sc.bm25)} · "
                f"fused #{sc.fused_rank}{graded}"
            )
    st.caption(small_print(result))


def small_print(result: AnswerResult) -> str:
    """Mode, model, reranker, tokens, cost, time to first token."""
    t = result.tokens
    parts = [f"mode {result.mode}", f"model {result.model or '—'}", f"reranker {result.reranker}"]
    if t:
        parts.append(
            f"tokens {t.get('sources', 0)} sources / {t.get('history', 0)} history / "
            f"{t.get('answer', 0)} answer"
        )
    if result.cost_usd is not None:
        parts.append(f"≈ ${result.cost_usd:.4f}")
    if "first_token" in result.timings:
        parts.append(f"first token {result.timings['first_token'] * 1000:.0f} ms")
    if result.removed_citations:
        parts.append(f"{result.removed_citations} invalid citation(s) removed")
    parts += [f"⚠️ {w}" for w in result.warnings]
    return " · ".join(parts)


def fmt(value: float | None) -> str:
    """A score, or a dash when that stage did not see the passage."""
    return "—" if value is None else f"{value:.3f}"


def chat(library: Library, embedder: Embedder) -> None:
    """History, input, streamed answer."""
    s, settings = state(), session_settings()
    for message in s.messages:
        with st.chat_message(message["role"]):
            st.markdown(safe_markdown(message["content"]))
            if message.get("result") is not None:
                show_answer(message["result"])
    has_docs = bool(library.documents(s.collection))
    if not has_docs and not s.messages:
        first_run(library, settings)
    placeholder = (
        "Indexing… questions wait until it is done"
        if s.ingesting
        else ("Ask a question about your documents" if has_docs else "Upload documents first")
    )
    question = st.chat_input(placeholder, disabled=s.ingesting or not has_docs)
    if question:
        ask(question, library, embedder, settings)


def ask(question: str, library: Library, embedder: Embedder, settings: Settings) -> None:
    """Stream one answer and keep it in this session's history."""
    s = state()
    history = [(m["role"], m["content"]) for m in s.messages[-8:]]
    s.messages.append({"role": "user", "content": question, "result": None})
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    llm = ChatLLM(settings) if settings.llm_configured else None
    if settings.reranker == "llm":  # per session: it uses this session's LLM settings
        answerer = Answerer(settings, library, embedder, llm)
    else:
        chosen, warning = reranker(settings.reranker, settings.cross_encoder)
        answerer = Answerer(settings, library, embedder, llm, chosen)
        answerer.warnings += [warning] if warning else []
    with st.chat_message("assistant"):
        stream = answerer.ask(question, s.collection, history=history, k=settings.top_k)
        with st.spinner("Searching your documents…"):
            first = next(iter(stream), "")
        slot, text = st.empty(), ""
        for delta in _chain(first, stream):  # streamed into one element, with a cursor
            text += delta
            slot.markdown(safe_markdown(text) + " ▌")
        result = stream.result
        # The streamed draft gives way to the checked answer (invalid citations removed).
        slot.markdown(safe_markdown(result.answer))
        show_answer(result)
    s.messages.append({"role": "assistant", "content": result.answer, "result": result})


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
    library, embedder = resources()
    s = state()
    sidebar(library, embedder)
    st.title("Docent")
    st.caption("Answers grounded in your documents, with citations you can open.")
    toolbar()
    status = st.container()  # indexing progress shows above the chat...
    chat(library, embedder)  # ...which is drawn first, so its input is already disabled
    if s.ingesting:
        with status:
            run_queued_ingest(library, embedder)


main()
