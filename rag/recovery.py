"""Bring the vector index back in step with the durable store after a writer died.

Facts that shape this (chromadb 1.5.9, docs/architecture.md): a SIGKILL during a Chroma write
can leave an embedded store that crashes the next process to open it, or that opens with the
right ``count()`` but cannot find most vectors. So recovery (a) opens a suspect store in a child
process first, (b) judges it by self-queries (stored chunks must come back for their own
vectors), and (c) rebuilds a damaged index from the durable store into a fresh folder, never
from Chroma's own files. Interrupted adds, replacements and deletions are then finished.
Recovery runs with the writer lock held, when a library opens and whenever a writer starts.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from rag.collection import Collection
from rag.config import Settings
from rag.docstore import DocStore
from rag.probe import probe_store
from rag.vectors import VectorStore

MIN_FINDABLE = 0.95  # share of sampled chunks that must come back for their own vector
CHROMA_FOLDER = "chroma_folder"  # flag: the embedded store's folder in the data dir
SAMPLE = 50


def needs_recovery(store: DocStore) -> bool:
    """A writer died: Chroma was mid-write, or documents were left half-way."""
    return store.chroma_dirty() or store.has_unfinished()


def chroma_folder(settings: Settings, store: DocStore) -> Path:
    """The folder that holds the embedded Chroma store (it moves when a rebuild replaces it)."""
    return settings.data_dir / (store.get_flag(CHROMA_FOLDER) or "chroma")


def check_unopened(settings: Settings, store: DocStore) -> list[str]:
    """Before Chroma is opened in this process: probe it in a child; rebuild if it is damaged.

    Returns what was done, for logs and tests.
    """
    if not store.chroma_dirty():
        return []
    names = store.collections()
    report = probe_store(settings, chroma_folder(settings, store), names)
    done = [f"probe: {report.summary()}"]
    if not report.ok(MIN_FINDABLE):
        done.append(rebuild(settings, store, VectorStore(settings, fresh_folder(settings)), names))
    return done


def check_open(vectors: VectorStore, collections: list[Collection]) -> bool:
    """With Chroma open in this process: does every collection find its own chunks?"""
    for collection in collections:
        sample = collection.rows.sample(SAMPLE)
        if sample and collection.index.findable(sample) < MIN_FINDABLE * len(sample):
            return False
    return True


def rebuild(settings: Settings, store: DocStore, vectors: VectorStore, names: list[str]) -> str:
    """Re-add every stored vector, from the durable store, into ``vectors``.

    An embedded store is built in a new folder, then the library switches to it and the old one
    is deleted; a crash part-way leaves the old pointer, and the next recovery starts again.
    On a server, the collections are dropped and refilled.
    """
    for name in names:
        rows = store.rows(name)
        fingerprint = rows.fingerprint()
        if fingerprint is None:
            continue
        if not vectors.embedded:
            vectors.drop(name)
        index = vectors.index(name, fingerprint)
        for doc in rows.documents(state=None):
            index.upsert(list(rows.chunks(doc.doc_id)))
    if vectors.embedded:
        store.set_flag(CHROMA_FOLDER, vectors.folder.name)
        remove_stale_folders(settings, vectors.folder.name)
    return "rebuilt the vector index from the durable copy"


def finish(store: DocStore, collections: Callable[[], list[Collection]]) -> list[str]:
    """Complete every collection's interrupted writes (lock held)."""
    with store.chroma_writing():
        for collection in collections():
            collection.finish_interrupted()
    return ["finished interrupted writes"]


def remove_stale_folders(settings: Settings, keep: str) -> None:
    """Delete embedded Chroma folders other than ``keep`` (left by earlier rebuilds)."""
    for path in settings.data_dir.glob("chroma*"):
        if path.is_dir() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)


def fresh_folder(settings: Settings) -> Path:
    """A new, unused folder name for an embedded store being rebuilt."""
    return settings.data_dir / f"chroma-{time.time_ns()}"
