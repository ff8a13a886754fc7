"""The collection cost panel: measured on real ingested collections, and shown in the app."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rag.config import Settings, get_settings
from rag.cost import MILLION, human, measure
from rag.system import Docent
from tests.conftest import REPO, ingest
from tests.helpers import FACTS, make_pdf

APP = str(REPO / "app.py")
MORE = [
    (
        f"Topic {i}",
        " ".join(f"Note {j} of topic {i} names item{i}x{j} by the bridge." for j in range(60)),
    )
    for i in range(6)
]


def _stored(path: Path, collection: str) -> tuple[int, float, float]:
    """Straight from the SQLite file (not through Docent): chunks, mean passage-vector bytes,
    mean sentence-vector bytes."""
    with sqlite3.connect(path) as db:
        n, vector, sentences = db.execute(
            "SELECT count(*), avg(length(vector)), avg(coalesce(length(sentences), 0)) "
            "FROM chunks WHERE collection = ?",
            (collection,),
        ).fetchone()
    return int(n), float(vector), float(sentences)


def test_cost_of_a_real_collection_matches_the_stored_rows_and_files(facts: Docent) -> None:
    collection = facts.collection()
    cost = measure(facts.library, collection)
    sqlite_file = facts.settings.data_dir / "docent.sqlite"
    chunks, vector_bytes, sentence_bytes = _stored(sqlite_file, collection.name)
    assert cost.chunks == chunks == sum(d.chunks for d in collection.documents()) > 0
    assert cost.dimension == facts.embedder.fingerprint.dimension
    assert cost.passage_bytes == vector_bytes == 4 * cost.dimension  # float32 as stored
    assert cost.sampled == chunks  # a small collection is read whole
    assert cost.sentence_bytes == pytest.approx(sentence_bytes)
    assert cost.sentences_per_chunk >= 1
    durable, chroma, bm25 = cost.parts
    files = [sqlite_file, *(sqlite_file.with_name(f"docent.sqlite-{x}") for x in ("wal", "shm"))]
    # The database file itself, at least; its WAL and shared memory at most as large as listed
    # (the shared-memory file can be sparse: only what the disk holds counts).
    assert durable.bytes is not None and sqlite_file.stat().st_size <= durable.bytes
    assert durable.bytes <= sum(f.stat().st_size for f in files if f.exists())
    assert Path(chroma.where) == facts.library.vectors.folder and chroma.bytes
    assert Path(bm25.where).is_dir() and bm25.bytes
    assert cost.complete
    assert cost.projected(MILLION) == pytest.approx(
        MILLION * sum(p.bytes / p.chunks for p in cost.parts if p.bytes)
    )


def test_shared_parts_are_divided_by_every_collection_s_chunks(facts: Docent) -> None:
    other = facts.collection("other")
    assert ingest(facts, ("more.pdf", make_pdf(MORE)), collection=other) == ["indexed"]
    mine = measure(facts.library, facts.collection())
    theirs = measure(facts.library, other)
    both = mine.chunks + theirs.chunks
    assert theirs.chunks > mine.chunks  # the second collection is the bigger one
    assert [p.chunks for p in mine.parts] == [both, both, mine.chunks]
    assert [p.chunks for p in theirs.parts] == [both, both, theirs.chunks]
    assert mine.parts[0].bytes == theirs.parts[0].bytes  # one SQLite file for both
    assert theirs.parts[2].bytes > mine.parts[2].bytes  # each its own BM25 folder


def test_a_database_server_is_reported_not_measured(
    database_url: str, chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    host, port = chroma_server
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        chroma_host=host,
        chroma_port=port,
        collection=f"cost-{time.time_ns()}",
        _env_file=None,
    )
    app = Docent(settings)
    try:
        assert ingest(app, ("facts.pdf", make_pdf(FACTS))) == ["indexed"]
        cost = measure(app.library, app.collection())
        durable, chroma, bm25 = cost.parts
        assert durable.bytes is None and "not on this disk" in durable.note
        assert chroma.bytes is None and f"{host}:{port}" == chroma.where
        assert bm25.bytes and not cost.complete  # only the local part is counted
        assert cost.projected() == pytest.approx(MILLION * bm25.bytes / cost.chunks)
    finally:
        app.close()


def test_human_sizes() -> None:
    assert [human(n) for n in (None, 999, 1500, 2_500_000, 3.2e9, 7e12)] == [
        "n/a",
        "999 B",
        "1.5 kB",
        "2.5 MB",
        "3.2 GB",
        "7.0 TB",
    ]


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> Iterator[Path]:
    """A fresh data dir for the app; cached resources are rebuilt for it."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    for var in ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
    st.cache_resource.clear()


def test_the_panel_shows_the_collection_s_cost_when_opened(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    at.sidebar.file_uploader[0].set_value([("facts.pdf", make_pdf(FACTS), "application/pdf")])
    at.run()
    next(b for b in at.sidebar.button if b.label == "Index").click()
    at.run()
    deadline = time.monotonic() + 300
    while "1 document" not in "\n".join(h.value for h in at.sidebar.subheader):
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.2)
        at.run()
    panel = next(e for e in at.sidebar.expander if "Collection cost" in e.label)
    assert not panel.children  # closed: nothing measured
    at.session_state["cost_panel"] = True  # the reader opens it
    at.run()
    assert not at.exception, at.exception
    panel = next(e for e in at.sidebar.expander if "Collection cost" in e.label)
    chunks, _, _ = _stored(app_env / "docent.sqlite", "default")
    shown = [m.value for m in panel.markdown] + [c.value for c in panel.caption]
    text = re.sub(r"\\(.)", r"\1", "\n".join(shown))  # Markdown escapes removed
    assert f"**{chunks:,} chunks**" in text
    assert all(part in text for part in ("| SQLite file |", "| Chroma folder |", "| BM25 folder |"))
    assert "1M chunks ≈" in text
