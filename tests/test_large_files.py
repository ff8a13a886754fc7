"""A large file is embedded and written a part at a time, and never stored half-way.

PART_CHUNKS is lowered so that a few pages of real text take the path a file of tens of
megabytes takes; the parts go through the real model, the real Chroma and the real SQLite.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ingest.pipeline as pipeline
from rag.chunks import ChunkMeta, ChunkRecord
from rag.docstore import CollectionRows, DocumentRecord
from rag.system import Docent
from tests.conftest import REPO, chroma_finds, ingest
from tests.test_crash_safety import _check

PART = 5
COLOURS = ("red", "green", "blue", "amber", "violet", "teal", "ochre")


def _long_text(items: int = 400) -> bytes:
    """Sentences about numbered items: many chunks, each item findable by its number."""
    lines = [
        f"Item {i} of the inventory is painted {COLOURS[i % len(COLOURS)]} and weighs "
        f"{i * 3 + 7} grams; it is kept on shelf {i % 13}."
        for i in range(items)
    ]
    return "\n".join(lines).encode()


OLD = b"The inventory notes say the shelf budget is twelve euros for the whole year."


class _Failing:
    """The real embedder, failing at its ``fail_at``-th call of ``encode_with_sentences``."""

    def __init__(self, real: Any, fail_at: int) -> None:
        self.real, self.fail_at, self.calls = real, fail_at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def encode_with_sentences(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the model stopped")
        return self.real.encode_with_sentences(*args, **kwargs)


def test_a_large_file_is_written_in_parts_and_found_whole(
    local: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PART_CHUNKS", PART)
    parts: list[int] = []
    add_chunks = CollectionRows.add_chunks
    monkeypatch.setattr(
        CollectionRows,
        "add_chunks",
        lambda self, chunks: parts.append(len(chunks)) or add_chunks(self, chunks),
    )
    assert ingest(local, ("old.txt", OLD), ("inventory.txt", _long_text())) == [
        "indexed",
        "indexed",
    ]
    collection = local.collection()
    docs = {d.name: d for d in collection.rows.documents(state=None)}
    assert [d.state for d in docs.values()] == ["ready", "ready"]
    big = docs["inventory.txt"]
    assert big.chunks > 3 * PART, "the test text must need several parts"
    assert len(parts) == -(-big.chunks // PART) and max(parts) == PART
    stored = sum(1 for c in collection.rows.chunks() if c.doc_id == big.doc_id)
    assert stored == big.chunks
    assert chroma_finds(local) == (big.chunks + 1, big.chunks + 1)
    # the last part is searchable like the first
    hits = local.search("Which item weighs 1204 grams?").passages
    assert "Item 399 " in hits[0].text


def test_a_part_that_fails_leaves_the_old_version_whole(
    local: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ingest(local, ("inventory.txt", OLD)) == ["indexed"]
    monkeypatch.setattr(pipeline, "PART_CHUNKS", PART)
    failing = _Failing(local.embedder, fail_at=3)
    source = pipeline.Source.from_bytes("inventory.txt", _long_text())
    with pytest.raises(RuntimeError, match="the model stopped"):
        pipeline.ingest_sources([source], local.collection(), failing, local.settings)  # type: ignore[arg-type]
    assert failing.calls == 3
    rows = local.collection().rows
    docs = rows.documents(state=None)
    assert [(d.name, d.state, d.chunks) for d in docs] == [("inventory.txt", "ready", 1)]
    assert [c.doc_id for c in rows.chunks()] == [docs[0].doc_id]
    assert chroma_finds(local) == (1, 1)
    assert local.library.vectors.client.get_collection(rows.name).count() == 1
    assert "twelve euros" in local.search("What is the shelf budget?").passages[0].text


def test_a_document_being_written_does_not_crowd_out_ready_ones(local: Docent) -> None:
    assert ingest(local, ("budget.txt", OLD)) == ["indexed"]
    collection = local.collection()
    question = "What is the shelf budget for the year?"
    # a document half-way through its parts, whose chunks all sit closer to the question
    texts = [f"{question} Draft {i}: the budget is not settled." for i in range(20)]
    vectors = local.embedder.encode(texts)
    chunks = [
        ChunkRecord(f"draft-{i:03d}", t, ChunkMeta("draft.txt", "draft", i), v)
        for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
    ]
    collection.rows.add_pending(
        [(DocumentRecord("draft", "draft.txt", "text", 0, 40, 1), chunks)], state="writing"
    )
    collection.index.upsert(chunks)
    found = collection.dense(local.embedder.encode([question])[0], 3)
    assert [cid for cid, _ in found] == [
        c.chunk_id for c in collection.rows.chunks() if c.doc_id != "draft"
    ]
    assert "twelve euros" in local.search(question).passages[0].text


DYING = """
import os, sys
from pathlib import Path
import ingest.pipeline as pipeline
from rag.config import Settings
from rag.system import Docent

pipeline.PART_CHUNKS = {part}
app = Docent(Settings(data_dir=Path(sys.argv[1]), _env_file=None))
real, calls = app.embedder.encode_with_sentences, []

def dying(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        os._exit(9)  # no cleanup runs: as if the process were killed between two parts
    return real(*args, **kwargs)

app.embedder.encode_with_sentences = dying
source = pipeline.Source.from_path(Path(sys.argv[2]), "inventory.txt")
pipeline.ingest_sources([source], app.collection("crash"), app.embedder, app.settings)
"""


def test_a_process_killed_between_parts_leaves_no_half_document(
    tmp_path: Path, local: Docent
) -> None:
    data_dir = tmp_path / "killed"
    old = tmp_path / "inventory.txt"
    old.write_bytes(OLD)
    first = subprocess.run(
        [sys.executable, "-m", "ingest", str(old), "--collection", "crash"]
        + ["--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    new = tmp_path / "new" / "inventory.txt"
    new.parent.mkdir()
    new.write_bytes(_long_text())
    killed = subprocess.run(
        [sys.executable, "-c", DYING.format(part=PART), str(data_dir), str(new)],
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    assert killed.returncode == 9, killed.stderr[-2000:]
    with sqlite3.connect(data_dir / "docent.sqlite") as db:  # the kill landed between parts
        left = db.execute(
            "SELECT d.state, COUNT(c.chunk_id) FROM documents d JOIN chunks c "
            "ON c.doc_id = d.doc_id AND c.collection = d.collection GROUP BY d.doc_id"
        ).fetchall()
    assert sorted(left) == [("ready", 1), ("writing", 2 * PART)]
    state = _check(data_dir)  # opens the store in a child: recovery runs, then Chroma is asked
    assert state["problems"] == [], state
    assert state["documents"] == 1 and state["names"] == {"inventory.txt": 1}, state
