"""Docent's Streamlit UI: layout and wiring only; the logic lives in ``ingest`` and ``rag``.

Until the chat arrives this page indexes uploads and lists the library.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

import rag  # noqa: F401 - offline environment before the libraries load
from ingest.loaders import SUPPORTED
from ingest.pipeline import Progress, Source, ingest_sources
from rag.config import get_settings
from rag.embeddings import Embedder
from rag.library import Library
from rag.runtime import open_library

st.set_page_config(page_title="Docent", page_icon="📚", layout="wide")


@st.cache_resource(show_spinner="Loading the embedding model…")
def resources() -> tuple[Library, Embedder]:
    """One library and one model per server process, shared by all sessions."""
    return open_library(get_settings())


def main() -> None:
    """Render the page."""
    settings = get_settings()
    library, embedder = resources()
    collection = settings.collection
    st.title("📚 Docent")
    st.caption(
        "Chat with your documents — grounded, cited answers. The chat is coming next; "
        "for now, build your library."
    )
    files = st.file_uploader(
        "Add documents", type=[s.lstrip(".") for s in SUPPORTED], accept_multiple_files=True
    )
    if files and st.button("Index", type="primary"):
        sources = [Source.from_bytes(f.name, f.getvalue()) for f in files]
        with st.status("Indexing…", expanded=True) as status:
            bar = st.progress(0.0)

            def progress(p: Progress) -> None:
                share = (p.index + (p.done / p.of if p.of else 0)) / max(p.total, 1)
                bar.progress(min(share, 1.0), text=f"{p.name}: {p.stage}")

            results = ingest_sources(sources, collection, library, embedder, settings, progress)
            for r in results:
                st.write(f"**{r.status}** — {r.name}" + (f": {r.reason}" if r.reason else ""))
            status.update(label="Indexing done", state="complete")
    docs = library.documents(collection)
    st.subheader(f"Library · {collection} · {len(docs)} documents")
    st.dataframe(
        [
            {
                "name": d.name,
                "pages": d.pages or "–",
                "chunks": d.chunks,
                "added": datetime.fromtimestamp(d.added_at).strftime("%Y-%m-%d %H:%M"),
            }
            for d in docs
        ],
        hide_index=True,
        use_container_width=True,
    )


main()
