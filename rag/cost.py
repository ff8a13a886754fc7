"""What a collection costs to keep: bytes per stored vector, disk per part, a 1M-chunk estimate.

Measured, not modelled: vector bytes come from the collection's own rows (a passage vector is
float32, 4 x dim bytes; sentence vectors are float16, 2 x dim bytes per sentence, and their
number varies), disk use from the files in the data dir. Parts shared by every collection of
the data dir (the SQLite file, the embedded Chroma folder) are divided by all the chunks they
hold, the collection's own BM25 folder by its chunks. A part that is not on this machine (a
PostgreSQL database, a Chroma server) is reported as such, never as a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from rag.collection import Collection
from rag.library import Library

SAMPLE = 500  # chunks read to measure sentence vectors (all of them in smaller collections)
MILLION = 1_000_000


@dataclass(frozen=True)
class Part:
    """One place the collection's data lives, and what it takes there."""

    name: str
    where: str  # a path, or a server
    bytes: int | None  # None: not on this machine's disk
    chunks: int  # chunks whose data it holds (its bytes are shared by these)
    note: str = ""

    @property
    def per_chunk(self) -> float | None:
        """Bytes per chunk it holds (None: not measurable here, or no chunks yet)."""
        if self.bytes is None or not self.chunks:
            return None
        return self.bytes / self.chunks


@dataclass(frozen=True)
class CollectionCost:
    """The cost of one collection, as measured now."""

    collection: str
    chunks: int
    dimension: int
    sentence_bytes: float  # mean float16 sentence-vector bytes per chunk (over `sampled`)
    sampled: int
    parts: tuple[Part, ...]

    @property
    def passage_bytes(self) -> int:
        """Bytes of one passage vector in the durable copy (float32)."""
        return 4 * self.dimension

    @property
    def vector_bytes(self) -> float:
        """Mean bytes of one chunk's vectors in the durable copy (passage + its sentences)."""
        return self.passage_bytes + self.sentence_bytes

    @property
    def sentences_per_chunk(self) -> float:
        """Mean sentence vectors per chunk."""
        return self.sentence_bytes / (2 * self.dimension) if self.dimension else 0.0

    @property
    def complete(self) -> bool:
        """Every part was measured on this disk (so the total and the estimate are whole)."""
        return all(p.bytes is not None for p in self.parts)

    @property
    def per_chunk(self) -> float | None:
        """Disk bytes per chunk over the parts measured here (None: no chunk yet)."""
        known = [p.per_chunk for p in self.parts if p.per_chunk is not None]
        return sum(known) if known else None

    def projected(self, chunks: int = MILLION) -> float | None:
        """Disk bytes ``chunks`` chunks would take at the measured bytes per chunk (parts on
        this machine only; see :attr:`complete`)."""
        per_chunk = self.per_chunk
        return None if per_chunk is None else per_chunk * chunks


def measure(library: Library, collection: Collection) -> CollectionCost:
    """The cost of ``collection`` (a handle: the user may read it) in ``library``.

    Reads the chunk counts of every collection (the shared parts hold them all), up to
    :data:`SAMPLE` of this collection's chunks with their vectors, and file sizes on disk.
    """
    rows = collection.rows
    chunks = rows.chunk_count()
    every = sum(library.store.rows(n).chunk_count() for n in library.store.collections())
    sample = rows.sample(SAMPLE)
    sentence_bytes = sum(
        c.sentence_vectors.nbytes for c in sample if c.sentence_vectors is not None
    ) / max(len(sample), 1)
    settings = library.settings
    db = library.store.db
    if db.dialect == "sqlite":
        path = Path(make_url(db.url).database or "")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        durable = Part("SQLite file", str(path), sum(map(_size, files)), every)
    else:
        durable = Part(
            "PostgreSQL" if db.dialect == "postgresql" else db.dialect,
            "database server",
            None,
            every,
            "not on this disk: ask the server, e.g. pg_total_relation_size('chunks')",
        )
    if library.vectors.embedded:
        folder = library.vectors.folder
        chroma = Part("Chroma folder", str(folder), _size(folder), every)
    else:
        host = f"{settings.chroma_host}:{settings.chroma_port}"
        chroma = Part("Chroma server", host, None, every, "not on this disk: a Chroma server")
    bm25_folder = settings.data_dir / "bm25" / collection.name
    bm25 = Part("BM25 folder", str(bm25_folder), _size(bm25_folder), chunks)
    return CollectionCost(
        collection.name,
        chunks,
        collection.fingerprint.dimension,
        sentence_bytes,
        len(sample),
        (durable, chroma, bm25),
    )


def _size(path: Path) -> int:
    """Bytes a file, or every file under a folder, takes (0 if it does not exist).

    Allocated blocks, not apparent sizes: Chroma's HNSW files can be sparse, so their apparent
    size overstates what the disk holds.
    """
    if not path.exists():
        return 0
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    total = 0
    for f in files:
        try:
            st = f.stat()
        except OSError:  # removed while we looked
            continue
        blocks = getattr(st, "st_blocks", None)  # absent on Windows: apparent size there
        total += st.st_size if blocks is None else min(st.st_size, blocks * 512)
    return total


def human(n: float | None) -> str:
    """Bytes for people: ``1.4 MB`` (decimal units, as disks are sold)."""
    if n is None:
        return "n/a"
    if abs(n) < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if abs(n) < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:.1f} TB"
