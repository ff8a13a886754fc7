"""Files in, chunks with vectors out, stored in the library: one document at a time, atomically.

Loading and chunking the next file run in a helper thread while the current one is embedded,
so the embedding model (the slow part) is kept busy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ingest.chunking import Chunk, chunk_document
from ingest.errors import IngestError
from ingest.loaders import SUPPORTED, LoadedDocument, load_bytes
from rag.config import Settings
from rag.docstore import ChunkRecord, DocumentRecord
from rag.embeddings import Embedder
from rag.library import Library

Status = Literal["indexed", "already indexed", "replaced", "failed"]


@dataclass
class Source:
    """A file to ingest: a name (no folders) and a way to get its bytes."""

    name: str
    read: Callable[[], bytes]
    size: int

    @classmethod
    def from_path(cls, path: Path) -> Source:
        """A file on disk (read lazily)."""
        return cls(path.name, path.read_bytes, path.stat().st_size)

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        """An upload already in memory."""
        return cls(name, lambda: data, len(data))


@dataclass
class FileResult:
    """How one file ended."""

    name: str
    status: Status
    chunks: int = 0
    pages: int = 0
    reason: str = ""


@dataclass
class Progress:
    """A progress report: file ``index`` of ``total`` is at ``stage`` (``done``/``of`` chunks)."""

    index: int
    total: int
    name: str
    stage: Literal["reading", "embedding", "writing", "done"]
    done: int = 0
    of: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Prepared:
    source: Source
    doc_id: str
    doc: LoadedDocument | None = None
    chunks: list[Chunk] | None = None
    error: str = ""


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand folders (recursively) to supported files; missing paths become failures."""
    found: list[Path] = []
    missing: list[FileResult] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(".")
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(FileResult(str(path), "failed", reason="no such file or folder"))
    return found, missing


def ingest_sources(
    sources: list[Source],
    collection: str,
    library: Library,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback | None = None,
) -> list[FileResult]:
    """Index ``sources`` into ``collection``; a bad file is reported and the others go on.

    Raises:
        StoreBusyError: another process is writing to this data dir (nothing was changed).
        EmbeddingMismatchError: the collection was built with another embedding model.
    """
    report = progress or (lambda _p: None)
    results: list[FileResult] = []
    with library.writing():
        library.index(collection)  # fail early on a model mismatch
        for i, prepared in enumerate(
            _prepare_all(sources, collection, library, embedder, settings)
        ):
            name = prepared.source.name
            report(Progress(i, len(sources), name, "reading"))
            results.append(_store(i, len(sources), prepared, collection, library, embedder, report))
            report(Progress(i, len(sources), name, "done"))
    return results


def _prepare_all(
    sources: list[Source],
    collection: str,
    library: Library,
    embedder: Embedder,
    settings: Settings,
) -> Iterator[_Prepared]:
    """Load and chunk each source, one file ahead of the consumer."""
    known = {d.doc_id for d in library.documents(collection)}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="docent-load") as pool:
        ahead: Future[_Prepared] | None = None
        for i in range(len(sources)):
            current = ahead or pool.submit(_prepare, sources[i], known, embedder, settings)
            ahead = (
                pool.submit(_prepare, sources[i + 1], known, embedder, settings)
                if i + 1 < len(sources)
                else None
            )
            yield current.result()


def _prepare(source: Source, known: set[str], embedder: Embedder, settings: Settings) -> _Prepared:
    try:
        if source.size > settings.max_file_bytes:
            raise IngestError(
                source.name,
                f"the file is {source.size / 2**20:.1f} MB, over the "
                f"limit of {settings.max_file_mb:.0f} MB (DOCENT_MAX_FILE_MB)",
            )
        data = source.read()
        doc_id = hashlib.sha256(data).hexdigest()
        prepared = _Prepared(source, doc_id)
        if doc_id in known:
            return prepared
        prepared.doc = load_bytes(source.name, data, settings.max_file_bytes)
        prepared.chunks = chunk_document(
            prepared.doc,
            settings.chunk_size,
            settings.chunk_overlap,
            embedder.count_tokens,
            embedder.max_tokens,
        )
    except IngestError as exc:
        return _Prepared(source, "", error=exc.reason)
    except OSError as exc:
        return _Prepared(source, "", error=f"cannot be read ({exc.strerror or exc})")
    except Exception as exc:
        return _Prepared(source, "", error=f"could not be read ({type(exc).__name__}: {exc})")
    return prepared


def _store(
    i: int,
    total: int,
    prepared: _Prepared,
    collection: str,
    library: Library,
    embedder: Embedder,
    report: ProgressCallback,
) -> FileResult:
    name = prepared.source.name
    if prepared.error:
        return FileResult(name, "failed", reason=prepared.error)
    if prepared.doc is None or prepared.chunks is None:
        return FileResult(name, "already indexed", reason="the same content is already indexed")
    chunks = prepared.chunks
    texts = [c.embed_text() for c in chunks]
    step = max(embedder.batch_size * 4, 64)
    batches = []
    for start in range(0, len(texts), step):
        report(Progress(i, total, name, "embedding", start, len(texts)))
        batches.append(embedder.encode(texts[start : start + step]))
    report(Progress(i, total, name, "writing", len(texts), len(texts)))
    records = [
        _record(prepared, c, v) for c, v in zip(chunks, np.concatenate(batches), strict=True)
    ]
    doc = DocumentRecord(
        prepared.doc_id,
        name,
        prepared.doc.kind,
        prepared.doc.pages,
        len(records),
        prepared.source.size,
    )
    replaced = library.add_document(collection, doc, records)
    return FileResult(name, "replaced" if replaced else "indexed", len(records), prepared.doc.pages)


def _record(prepared: _Prepared, chunk: Chunk, vector: np.ndarray) -> ChunkRecord:
    assert prepared.doc is not None
    meta = {
        "source": prepared.source.name,
        "doc_id": prepared.doc_id,
        "page": chunk.page,
        "headings": chunk.headings,
        "chunk_index": chunk.index,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "kind": prepared.doc.kind,
    }
    return ChunkRecord(
        f"{prepared.doc_id[:32]}-{chunk.index:05d}",
        prepared.doc_id,
        chunk.index,
        chunk.text,
        meta,
        vector,
    )
