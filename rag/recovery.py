"""Bring the vector index back in step with the durable store after a writer died.

Facts that shape this (chromadb 1.5.9, docs/architecture.md): a SIGKILL during a Chroma write
can leave an embedded store that crashes the next process to open it, or that opens with the
right ``count()`` but cannot find most vectors. So recovery (a) opens a suspect embedded store
in a child process first, (b) judges it by self-queries (stored chunks must come back for
their own vectors), and (c) rebuilds a damaged index from the durable store, never from
Chroma's own files: an embedded store into a fresh folder, a server's collection in place.
Interrupted adds, replacements and deletions are then finished.

Recovery runs with the writer lock held: for every collection when a library on SQLite opens
(one lock for the data dir), for one collection on a shared store (its lock), and whenever a
writer starts. On a shared store it only ever follows what the shared database says (a writer
died mid-write), never one instance's own view.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rag.collection import Collection
from rag.config import Settings
from rag.docstore import DocStore
from rag.probe import probe_store
from rag.vectors import VectorStore

MIN_FINDABLE = 0.95  # share of sampled chunks that must come back for their own vector
CHROMA_FOLDER = "chroma_folder"  # flag: the embedded store's folder in the data dir
SAMPLE = 50


def needs_recovery(store: DocStore, collection: str | None = None) -> bool:
    """A writer died: its vectors were mid-write, or documents were left half-way."""
    return store.chroma_dirty(collection) or store.has_unfinished(collection)


def chroma_folder(settings: Settings, store: DocStore) -> Path:
    """The folder that holds the embedded Chroma store (it moves when a rebuild replaces it)."""
    return settings.data_dir / (store.get_flag(CHROMA_FOLDER) or "chroma")


def check_unopened(settings: Settings, store: DocStore) -> list[str]:
    """Embedded store, not yet opened in this process: probe it in a child; if it is damaged,
    rebuild it into a fresh folder. Returns what was done, for logs and tests."""
    if not store.chroma_dirty():
        return []
    names = store.collections()
    report = probe_store(settings, chroma_folder(settings, store), names)
    done = [f"probe: {report.summary()}"]
    if not report.ok(MIN_FINDABLE):
        done.append(rebuild_folder(settings, store, names))
    return done


def healthy(collection: Collection) -> bool:
    """With Chroma open in this process: does the collection find its own chunks?"""
    sample = collection.rows.sample(SAMPLE)
    return not sample or collection.index.findable(sample) >= MIN_FINDABLE * len(sample)


def rebuild_folder(settings: Settings, store: DocStore, names: list[str]) -> str:
    """Re-add every stored vector into a new embedded folder, then switch to it.

    A crash part-way leaves the old pointer, and the next recovery starts again.
    """
    vectors = VectorStore(settings, settings.data_dir / f"chroma-{time.time_ns()}")
    for name in names:
        _refill(store, vectors, name)
    store.set_flag(CHROMA_FOLDER, vectors.folder.name)
    for path in settings.data_dir.glob("chroma*"):  # folders of earlier rebuilds
        if path.is_dir() and path.name != vectors.folder.name:
            shutil.rmtree(path, ignore_errors=True)
    return "rebuilt the vector index from the durable copy"


def rebuild_collection(store: DocStore, vectors: VectorStore, name: str) -> str:
    """A Chroma server's collection dropped and refilled from the durable store."""
    vectors.drop(name)
    _refill(store, vectors, name)
    return f"rebuilt the vectors of {name!r} from the durable copy"


def _refill(store: DocStore, vectors: VectorStore, name: str) -> None:
    rows = store.rows(name)
    fingerprint = rows.fingerprint()
    if fingerprint is None:
        return
    index = vectors.index(name, fingerprint)
    for doc in rows.documents(state=None):
        index.upsert(list(rows.chunks(doc.doc_id)))


def finish(store: DocStore, collections: list[Collection]) -> list[str]:
    """Complete the collections' interrupted writes (lock held)."""
    for collection in collections:
        with store.chroma_writing(collection.name):
            collection.finish_interrupted()
    return ["finished interrupted writes"] if collections else []
