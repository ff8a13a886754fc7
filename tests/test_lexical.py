"""BM25 in segments: same scores as bm25s on one segment, changes without a full rebuild,
deletions masked, small segments merged, the index reloaded from disk, damage rebuilt.

The text is real (the pages of R-intro.pdf, five pages to a "document"); the source is the
durable store's interface over that text, so each test can count what the index reads.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import pytest

from ingest.loaders import load_bytes
from rag import lexical
from rag.lexical import LexicalIndex, tokenize
from rag.system import Docent
from tests.conftest import PDFS, ingest
from tests.helpers import make_pdf

QUERIES = ["linear regression model", "attach a data frame", "plot a histogram", "apply lapply"]


@lru_cache(maxsize=1)
def pages() -> tuple[str, ...]:
    data = (PDFS / "R-intro.pdf").read_bytes()
    doc = load_bytes("R-intro.pdf", data, max_bytes=len(data))
    return tuple(b.text for b in doc.blocks if b.text.strip())


class Rows:
    """Ready documents as the durable store reports them, counting what the index reads."""

    def __init__(self, docs: dict[str, list[str]]) -> None:
        self.docs = dict(docs)
        self.texts_read = 0

    def ready_sizes(self) -> dict[str, int]:
        return {d: len(t) for d, t in self.docs.items()}

    def ready_texts(
        self, doc_ids: Sequence[str] | None = None
    ) -> tuple[list[str], list[str], list[str]]:
        wanted = list(self.docs) if doc_ids is None else list(doc_ids)
        rows = [(f"{d}-{i:05d}", d, t) for d in wanted for i, t in enumerate(self.docs[d])]
        self.texts_read += len(rows)
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def split(start: int, stop: int, per_doc: int = 5) -> dict[str, list[str]]:
    """Pages ``start:stop`` of R-intro as documents of ``per_doc`` pages."""
    text = pages()[start:stop]
    return {f"d{start + i:03d}": list(text[i : i + per_doc]) for i in range(0, len(text), per_doc)}


def fresh(tmp_path: Path, docs: dict[str, list[str]], name: str = "fresh") -> LexicalIndex:
    index = LexicalIndex(tmp_path / name)
    index.ensure(1, Rows(docs))
    return index


def test_one_segment_scores_as_bm25s(tmp_path: Path) -> None:
    docs = split(0, 60)
    index = fresh(tmp_path, docs)
    assert len(index.segments) == 1
    rows = Rows(docs)
    ids, _, texts = rows.ready_texts()
    reference = bm25s.BM25()
    reference.index(tokenize(texts), show_progress=False)
    for query in QUERIES:
        words = tokenize([query])[0]
        found, scores = reference.retrieve([words], k=10, show_progress=False)
        pairs = zip(found[0], scores[0], strict=True)
        expected = {ids[i]: float(s) for i, s in pairs if s > 0}  # no zero-score rows
        got = dict(index.search(query, 10))
        assert got.keys() == expected.keys(), query
        for cid, score in got.items():
            assert score == pytest.approx(expected[cid], rel=1e-5)


def test_adding_documents_builds_only_a_new_segment(tmp_path: Path) -> None:
    rows = Rows(split(0, 50))
    index = LexicalIndex(tmp_path / "bm25")
    index.ensure(1, rows)
    first = index.segments[0]
    rows.docs.update(split(50, 60))
    rows.texts_read = 0
    index.ensure(2, rows)
    assert index.segments[0] is first  # not rebuilt
    assert len(index.segments) == 2
    assert rows.texts_read == sum(len(t) for t in split(50, 60).values())  # only the new pages
    # Collection-wide IDF: the same weights as one index over everything.
    whole = fresh(tmp_path, rows.docs)
    words = tokenize([" ".join(QUERIES)])[0]
    assert index.idf(words) == pytest.approx(whole.idf(words))
    for query in QUERIES:
        got = index.search(query, 5)
        expected = whole.search(query, 5)
        assert got[0][0] == expected[0][0], query
        assert {c for c, _ in got[:3]} & {c for c, _ in expected[:3]}, query


def test_deleted_documents_never_come_back_and_are_not_rebuilt(tmp_path: Path) -> None:
    rows = Rows(split(0, 60))
    index = LexicalIndex(tmp_path / "bm25")
    index.ensure(1, rows)
    first = index.segments[0]
    top_doc = index.search("linear regression model", 1)[0][0].rsplit("-", 1)[0]
    del rows.docs[top_doc]
    rows.texts_read = 0
    index.ensure(2, rows)
    assert rows.texts_read == 0  # a mask, not a rebuild
    assert index.segments[0].name == first.name
    for query in QUERIES:
        assert all(not c.startswith(f"{top_doc}-") for c, _ in index.search(query, 50))
    # Most of a segment deleted: it is rebuilt from the documents still there.
    for doc in list(rows.docs)[: len(rows.docs) // 2]:
        del rows.docs[doc]
    index.ensure(3, rows)
    assert [s.name for s in index.segments] != [first.name]
    assert index.segments[0].dead_fraction == 0.0
    assert {d for s in index.segments for d in s.live_docs} == set(rows.docs)


def test_small_segments_are_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "MAX_SMALL", 3)
    rows = Rows(split(0, 20))
    index = LexicalIndex(tmp_path / "bm25")
    index.ensure(1, rows)
    for generation, start in enumerate(range(20, 50, 5), start=2):
        rows.docs.update(split(start, start + 5))
        index.ensure(generation, rows)
        assert len(index.segments) <= 3
        assert sorted(d for s in index.segments for d in s.live_docs) == sorted(rows.docs)
    whole = fresh(tmp_path, rows.docs)
    for query in QUERIES:
        assert index.search(query, 1)[0][0] == whole.search(query, 1)[0][0], query


def test_a_large_collection_is_cut_into_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "SEGMENT_ROWS", 20)
    rows = Rows(split(0, 60))
    index = LexicalIndex(tmp_path / "bm25")
    index.ensure(1, rows)
    assert len(index.segments) == 3
    assert all(s.size <= 20 for s in index.segments)
    whole = LexicalIndex(tmp_path / "whole")
    monkeypatch.setattr(lexical, "SEGMENT_ROWS", 10_000)
    whole.ensure(1, rows)
    for query in QUERIES:
        assert index.search(query, 1)[0][0] == whole.search(query, 1)[0][0], query


def test_reloaded_from_disk_without_reading_the_store(tmp_path: Path) -> None:
    rows = Rows(split(0, 40))
    index = LexicalIndex(tmp_path / "bm25")
    index.ensure(1, rows)
    del rows.docs["d005"]
    index.ensure(2, rows)
    rows.texts_read = 0
    again = LexicalIndex(tmp_path / "bm25")
    again.ensure(2, rows)
    assert rows.texts_read == 0
    for query in QUERIES:
        assert again.search(query, 10) == index.search(query, 10)
    assert all(not c.startswith("d005-") for q in QUERIES for c, _ in again.search(q, 50))


def test_damaged_segment_is_rebuilt_and_old_layout_swept(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    rows = Rows(split(0, 30))
    LexicalIndex(folder).ensure(1, rows)
    (folder / "meta.json").write_text("{}")  # the layout before segments
    for entry in folder.iterdir():
        if entry.is_dir():
            (entry / "rows.json").write_text("not json")
    index = LexicalIndex(folder)
    index.ensure(1, rows)  # the manifest names damaged files: built again from the store
    assert index.search("linear regression model", 1)
    fresh_index = LexicalIndex(folder)
    for entry in folder.iterdir():  # as if two minutes had passed since these were written
        os.utime(entry, (time.time() - 120, time.time() - 120))
    fresh_index.ensure(2, rows)
    names = {e.name for e in folder.iterdir()}
    assert names == {"manifest.json", *(s.name for s in fresh_index.segments)}


def test_stop_words_only_and_empty(tmp_path: Path) -> None:
    index = fresh(tmp_path, {"a": ["the and of"], "b": ["bees dance"]})
    assert index.search("the of", 5) == []
    assert [c for c, _ in index.search("bees", 5)] == ["b-00000"]
    empty = fresh(tmp_path, {}, "empty")
    assert empty.search("bees", 5) == [] and empty.segments == []


def test_collection_keeps_bm25_in_step(local: Docent) -> None:
    """Through the real store: add, replace and delete documents; BM25 follows each change."""
    collection = local.collection()

    def add(name: str, text: str, status: str = "indexed") -> None:
        assert ingest(local, (name, make_pdf([("Notes", text)]))) == [status]

    add("bees.pdf", "Honey bees perform a waggle dance to point to flowers.")
    add("ice.pdf", "Glaciers carve valleys over thousands of years.")
    first = collection.lexical().segments
    assert len(first) == 2  # the second file became a segment of its own
    assert [p.source for p in local.search("waggle dance", k=1).passages] == ["bees.pdf"]
    add("bees.pdf", "Bumble bees buzz loudly near clover.", "replaced")  # a new version
    assert not collection.bm25("waggle", 5)
    assert [p.source for p in local.search("clover", k=1).passages] == ["bees.pdf"]
    doc = next(d for d in collection.documents() if d.name == "ice.pdf")
    collection.delete_document(doc.doc_id)
    assert not collection.bm25("glaciers valleys", 5)
    assert collection.bm25("clover", 5)


def test_an_index_cut_into_words_another_way_is_rebuilt(tmp_path: Path) -> None:
    # CJK text became character pairs (rag.lexical.TOKENS 2): an index written before holds
    # whole clauses as words, which no question matches any more, so it is built again.
    docs = {"zh": ["每位员工每年有十五天带薪年假。"], "en": ["Barn owls hunt by sound."]}
    fresh(tmp_path, docs)
    manifest = tmp_path / "fresh" / "manifest.json"
    data = json.loads(manifest.read_text())
    kept = LexicalIndex(tmp_path / "fresh")
    kept.ensure(1, rows := Rows(docs))
    assert rows.texts_read == 0 and kept.search("带薪年假", 1)  # the same cut: loaded as it is
    data["tokens"] = 1
    manifest.write_text(json.dumps(data))
    again = LexicalIndex(tmp_path / "fresh")
    again.ensure(1, rows := Rows(docs))
    assert rows.texts_read == 2 and again.search("带薪年假", 1)[0][0].startswith("zh")
