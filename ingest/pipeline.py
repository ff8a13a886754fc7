"""Files in, chunks with vectors out, stored in the library: one document at a time, atomically.

Loading and chunking the next file run in a helper thread while the current one is embedded,
so the embedding model (the slow part) is kept busy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ingest.chunking import Chunk, chunk_document
from ingest.errors import IngestError
from ingest.loaders import LoadedDocument, load_bytes
from ingest.results import FileResult, Status
from rag.chunks import ChunkMeta, ChunkRecord, chunk_id
from rag.collection import Collection
from rag.config import Settings
from rag.docstore import DocumentRecord
from rag.embeddings import Embedder


@dataclass
class Source:
    """A file to ingest: the name it is stored under and a way to get its bytes."""

    name: str
    read: Callable[[], bytes]
    size: int
    # A record of a judged collection (``ingest --beir``) is a document of its own even where
    # another holds the same text: judgments name each record, so none may be skipped as a
    # copy (CACM repeats 191 of its 3,204 records, NPL 16 of 11,429).
    distinct: bool = False

    @classmethod
    def from_path(cls, path: Path, name: str | None = None) -> Source:
        """A file on disk (read lazily), stored as ``name`` (default: its file name)."""
        return cls(name or path.name, path.read_bytes, path.stat().st_size)

    @classmethod
    def from_bytes(cls, name: str, data: bytes, distinct: bool = False) -> Source:
        """An upload already in memory (``distinct``: see the field)."""
        return cls(name, lambda: data, len(data), distinct)

    def doc_id(self, data: bytes) -> str:
        """The document's id: the hash of its bytes (and of its name, if ``distinct``)."""
        salt = self.name.encode() + b"\0" if self.distinct else b""
        return hashlib.sha256(salt + data).hexdigest()


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

GROUP_CHUNKS = 512  # embed small files together until a group has this many chunks
EMBED_STEP = 512  # chunks per model call (of similar length: see _embed_by_length)
# A file with more chunks is embedded and written a part at a time: its vectors (with the
# sentence vectors, ~15 KB a chunk) are never all in memory. 1.5 GB for 50 MB of text before.
PART_CHUNKS = 2048


@dataclass
class _Prepared:
    source: Source
    doc_id: str
    doc: LoadedDocument | None = None
    chunks: list[Chunk] | None = None
    error: str = ""


def ingest_sources(
    sources: list[Source],
    collection: Collection,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback | None = None,
) -> list[FileResult]:
    """Index ``sources`` into ``collection``; a bad file is reported and the others go on.

    Raises:
        AccessDenied: the collection's user may not add documents to it.
        StoreBusyError: another process is writing to this data dir (nothing was changed).
        EmbeddingMismatchError: the collection was built with another embedding model.
    """
    report = progress or (lambda _p: None)
    results: dict[int, FileResult] = {}
    group = _Group()
    collection.check_writable()  # a reader is refused before any file is read
    with collection.writing():
        collection.check_vectors()  # so is a model mismatch
        known = {d.doc_id: d.name for d in collection.documents()}
        # content hash -> name: the stored documents, then this upload's own files (a copy:
        # the loader's thread reads `known` meanwhile)
        seen = dict(known)
        named: set[str] = set()  # this batch's names: a second file of one name is refused
        loader = _Loader(sources, known, embedder, settings)
        loaded = iter(loader)
        for i, source in enumerate(sources):
            # said before the file is read, not after: a large one takes a while to read
            report(Progress(i, len(sources), source.name, "reading"))
            prepared = next(loaded)
            name = prepared.source.name
            early = _early_result(prepared, seen, named)
            if early is not None:
                results[i] = early
                report(Progress(i, len(sources), name, "done"))
                continue
            if len(prepared.chunks or []) > PART_CHUNKS:
                results |= group.flush(collection, embedder, report, len(sources))
                results[i] = _write_in_parts(
                    i, prepared, collection, embedder, report, len(sources)
                )
                continue
            group.add(i, prepared)
            # Embed now if the group is full, or if waiting for the next file would idle the model.
            if group.size() >= GROUP_CHUNKS or (
                group.size() >= GROUP_CHUNKS // 4 and not loader.next_ready()
            ):
                results |= group.flush(collection, embedder, report, len(sources))
        results |= group.flush(collection, embedder, report, len(sources))
        collection.lexical()  # bring BM25 up to date now, not at the first question
    return [results[i] for i in range(len(sources))]


def _early_result(prepared: _Prepared, seen: dict[str, str], named: set[str]) -> FileResult | None:
    """The result of a file that needs no embedding (failed, or already indexed); ``seen``
    (content hash -> name) and ``named`` (this batch's names) learn the file if it goes on."""
    name = prepared.source.name
    if prepared.error:
        return FileResult(name, "failed", reason=prepared.error)
    if prepared.chunks == []:
        return FileResult(name, "failed", reason="the file contains no readable text")
    twin = seen.get(prepared.doc_id)
    if twin is not None:  # under another name, the user would otherwise look for this one
        where = "" if twin == name else f" as {twin}"
        return FileResult(
            name, "already indexed", reason=f"the same content is already indexed{where}"
        )
    if name in named:  # e.g. README.md from two folders: neither may silently replace the other
        return FileResult(
            name,
            "failed",
            reason="another file of this batch has the same name and other content; "
            "rename one and add it again",
        )
    seen[prepared.doc_id] = name
    named.add(name)
    return None


class _Group:
    """Small files are embedded together: one model call per ~GROUP_CHUNKS chunks, not per file."""

    def __init__(self) -> None:
        self.items: list[tuple[int, _Prepared]] = []

    def add(self, i: int, prepared: _Prepared) -> None:
        self.items.append((i, prepared))

    def size(self) -> int:
        return sum(len(p.chunks or []) for _, p in self.items)

    def flush(
        self, collection: Collection, embedder: Embedder, report: ProgressCallback, total: int
    ) -> dict[int, FileResult]:
        if not self.items:
            return {}
        items, self.items = self.items, []
        metas = [
            (c, c.meta(p.source.name, p.doc_id, p.doc.kind if p.doc else ""))
            for _, p in items
            for c in p.chunks or []
        ]
        texts = [m.embed_text(c.text) for c, m in metas]
        spans = [m.embedded_spans() for _, m in metas]
        last_i = items[-1][0]
        label = _group_label([p.source.name for _, p in items])

        def step(done: int) -> None:
            report(Progress(last_i, total, label, "embedding", done, len(texts)))

        vectors, sentences = _embed_by_length(embedder, texts, spans, step)
        report(Progress(last_i, total, label, "writing", len(texts), len(texts)))
        rows = iter(zip(metas, vectors, sentences, strict=True))
        stored = [(i, p, [_record(*next(rows)) for _ in p.chunks or []]) for i, p in items]
        replaced = collection.add_documents(
            [
                (
                    DocumentRecord(
                        p.doc_id,
                        p.source.name,
                        p.doc.kind,
                        p.doc.pages,
                        len(records),
                        p.source.size,
                    ),
                    records,
                )
                for _, p, records in stored
                if p.doc is not None
            ],
        )
        out: dict[int, FileResult] = {}
        for (i, p, records), old in zip(stored, replaced, strict=True):
            status: Status = "replaced" if old else "indexed"
            out[i] = FileResult(p.source.name, status, len(records), p.doc.pages if p.doc else 0)
            report(Progress(i, total, p.source.name, "done"))
        return out


def _write_in_parts(
    i: int,
    prepared: _Prepared,
    collection: Collection,
    embedder: Embedder,
    report: ProgressCallback,
    total: int,
) -> FileResult:
    """Embed and store a large file PART_CHUNKS chunks at a time (see Collection's docstring)."""
    name, doc, chunks = prepared.source.name, prepared.doc, prepared.chunks or []
    if doc is None:  # only a file found already indexed has none, and it never comes here
        raise ValueError(f"{name}: nothing loaded to write")
    metas = [(c, c.meta(name, prepared.doc_id, doc.kind)) for c in chunks]

    def parts() -> Iterator[list[ChunkRecord]]:
        for start in range(0, len(metas), PART_CHUNKS):
            part = metas[start : start + PART_CHUNKS]

            def step(done: int, start: int = start) -> None:
                report(Progress(i, total, name, "embedding", start + done, len(metas)))

            vectors, sentences = _embed_by_length(
                embedder,
                [m.embed_text(c.text) for c, m in part],
                [m.embedded_spans() for _, m in part],
                step,
            )
            report(Progress(i, total, name, "writing", start + len(part), len(metas)))
            yield [_record(*row) for row in zip(part, vectors, sentences, strict=True)]

    record = DocumentRecord(
        prepared.doc_id, name, doc.kind, doc.pages, len(chunks), prepared.source.size
    )
    replaced = collection.add_document_in_parts(record, parts())
    report(Progress(i, total, name, "done"))
    return FileResult(name, "replaced" if replaced else "indexed", len(chunks), doc.pages)


def _group_label(names: list[str]) -> str:
    """What a progress report names while a group is embedded and written: the file, or the
    first and how many more (naming only one while five are embedded misleads)."""
    return names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"


def _embed_by_length(
    embedder: Embedder,
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    step: Callable[[int], None],
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed in model calls of EMBED_STEP texts of similar length, results in input order.

    The model pads each batch to its longest text; sorting the whole group first (not just
    within one call) wastes less on padding, which made raw ``encode`` ~10% faster than us.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), embedder.fingerprint.dimension), dtype=np.float32)
    sentences: list[np.ndarray] = [np.zeros(0)] * len(texts)
    for start in range(0, len(texts), EMBED_STEP):
        step(start)
        batch = order[start : start + EMBED_STEP]
        v, s = embedder.encode_with_sentences(
            [texts[i] for i in batch],
            [spans[i] for i in batch],
            progress=lambda done, start=start: step(start + done),  # per model batch
        )
        vectors[batch] = v
        for i, rows in zip(batch, s, strict=True):
            sentences[i] = rows
    return vectors, sentences


class _Loader:
    """Loads and chunks each source in a helper thread, one file ahead of the consumer."""

    def __init__(
        self,
        sources: list[Source],
        known: dict[str, str],
        embedder: Embedder,
        settings: Settings,
    ) -> None:
        self.sources, self.known, self.embedder, self.settings = sources, known, embedder, settings
        self._ahead: Future[_Prepared] | None = None

    def __iter__(self) -> Iterator[_Prepared]:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="docent-load") as pool:
            for i in range(len(self.sources)):
                current = self._ahead or self._submit(pool, i)
                self._ahead = self._submit(pool, i + 1) if i + 1 < len(self.sources) else None
                yield current.result()

    def next_ready(self) -> bool:
        """True if the next file is loaded (or there is none): taking it would not wait."""
        return self._ahead is None or self._ahead.done()

    def _submit(self, pool: ThreadPoolExecutor, i: int) -> Future[_Prepared]:
        return pool.submit(_prepare, self.sources[i], self.known, self.embedder, self.settings)


def _prepare(
    source: Source, known: dict[str, str], embedder: Embedder, settings: Settings
) -> _Prepared:
    try:
        if source.size > settings.max_file_bytes:
            raise IngestError(
                source.name,
                f"the file is {source.size / 2**20:.1f} MB, over the "
                f"limit of {settings.max_file_mb:.0f} MB (DOCENT_MAX_FILE_MB)",
            )
        data = source.read()
        doc_id = source.doc_id(data)
        prepared = _Prepared(source, doc_id)
        if doc_id in known:
            return prepared
        prepared.doc = load_bytes(
            source.name, data, settings.max_file_bytes, int(settings.max_expanded_mb * 2**20)
        )
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


def _record(
    chunk_meta: tuple[Chunk, ChunkMeta], vector: np.ndarray, sentences: np.ndarray
) -> ChunkRecord:
    chunk, meta = chunk_meta
    return ChunkRecord(chunk_id(meta.doc_id, meta.index), chunk.text, meta, vector, sentences)
