"""The chunk contract: what every stage knows about a piece of a document.

Ingest builds :class:`ChunkMeta`, the durable store and Chroma keep it, retrieval, reranking,
extractive answers and citations read it. Its encodings live here and nowhere else: the heading
path as Chroma stores it (``"a > b"``), the heading prefix that is embedded with the text (and
the shift it gives sentence spans), and the JSON kept in the durable copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

HEADING_SEP = " > "
MAX_PREFIX_CHARS = 120  # a long heading path must not crowd the text out of the model window

Span = tuple[int, int]


def clip_spans(spans: Iterable[Span], start: int, length: int) -> list[Span]:
    """The parts of ``spans`` inside the window ``[start, start + length)``, as offsets into
    that window (a block's code spans in one of its chunks, say)."""
    clipped = [(max(s - start, 0), min(e - start, length)) for s, e in spans]
    return [(s, e) for s, e in clipped if s < e]


def heading_prefix(headings: tuple[str, ...] | list[str]) -> str:
    """The line embedded (and BM25-indexed) before a chunk's text: its heading path, kept short."""
    return f"{HEADING_SEP.join(headings)[:MAX_PREFIX_CHARS]}\n" if headings else ""


@dataclass(frozen=True)
class ChunkMeta:
    """Where a chunk comes from and where its sentences are.

    ``sentence_spans`` are offsets into the chunk's own text; :meth:`embedded_spans` gives them
    in the embedded text (heading prefix + text), where the sentence vectors were pooled.
    """

    source: str  # file name
    doc_id: str  # sha256 of the file's bytes (ingest.pipeline.Source): one version of it
    index: int  # position in the document
    page: int | None = None  # 1-based; None for formats without pages
    headings: tuple[str, ...] = ()  # outermost first
    char_start: int = 0  # offsets into the document's text (blocks joined by blank lines)
    char_end: int = 0
    kind: str = "text"  # loader kind: pdf, docx, markdown, text, html, csv
    sentence_spans: tuple[Span, ...] = field(default=())
    # code the loader found (an HTML <pre>, an .rst literal block, a PDF's typewriter lines)
    code_spans: tuple[Span, ...] = field(default=())

    @property
    def prefix(self) -> str:
        """The heading line embedded before the text (empty without headings)."""
        return heading_prefix(self.headings)

    def embed_text(self, text: str) -> str:
        """What the model and BM25 see for this chunk: heading prefix, then the text."""
        return self.prefix + text

    def embedded_spans(self) -> list[Span]:
        """Sentence spans shifted to where the text starts in :meth:`embed_text`."""
        shift = len(self.prefix)
        return [(s + shift, e + shift) for s, e in self.sentence_spans]

    def to_json(self) -> str:
        """The durable copy's form (keys kept from the first schema, so old stores still read)."""
        return json.dumps(
            {
                "source": self.source,
                "doc_id": self.doc_id,
                "chunk_index": self.index,
                "page": self.page,
                "headings": list(self.headings),
                "char_start": self.char_start,
                "char_end": self.char_end,
                "kind": self.kind,
                "sentence_spans": [list(s) for s in self.sentence_spans],
                **({"code_spans": [list(s) for s in self.code_spans]} if self.code_spans else {}),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ChunkMeta:
        """Read :meth:`to_json` output (or a first-schema row)."""
        raw = json.loads(text)
        return cls(
            source=str(raw.get("source", "")),
            doc_id=str(raw.get("doc_id", "")),
            index=int(raw.get("chunk_index", 0)),
            page=None if raw.get("page") is None else int(raw["page"]),
            headings=tuple(raw.get("headings") or ()),
            char_start=int(raw.get("char_start", 0)),
            char_end=int(raw.get("char_end", 0)),
            kind=str(raw.get("kind", "text")),
            sentence_spans=tuple((int(s), int(e)) for s, e in raw.get("sentence_spans") or ()),
            code_spans=tuple((int(s), int(e)) for s, e in raw.get("code_spans") or ()),
        )

    def to_chroma(self) -> dict[str, str | int]:
        """Chroma metadata takes scalars: the heading path becomes ``"a > b"``; spans stay out."""
        meta: dict[str, str | int] = {
            "source": self.source,
            "doc_id": self.doc_id,
            "chunk_index": self.index,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "kind": self.kind,
        }
        if self.page is not None:
            meta["page"] = self.page
        if self.headings:
            meta["headings"] = HEADING_SEP.join(self.headings)
        return meta


@dataclass
class ChunkRecord:
    """A chunk as stored: text, metadata, its vector and one vector per sentence."""

    chunk_id: str
    text: str
    meta: ChunkMeta
    vector: np.ndarray  # float32, unit length
    # one unit row per sentence span (float16); None: not computed (stores made before them)
    sentence_vectors: np.ndarray | None = None

    @property
    def doc_id(self) -> str:
        """The document (version) this chunk belongs to."""
        return self.meta.doc_id

    def with_text(self, text: str) -> ChunkRecord:
        """A copy with other text (a source cut to fit a prompt); spans no longer apply."""
        return replace(self, text=text, meta=replace(self.meta, sentence_spans=()))


def chunk_id(doc_id: str, index: int) -> str:
    """A chunk's id: stable for the same file content and position."""
    return f"{doc_id[:32]}-{index:05d}"
