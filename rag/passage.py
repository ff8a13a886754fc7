"""A retrieved chunk on its way to an answer: the stored chunk (with its vectors) and its scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rag.chunks import ChunkRecord


@dataclass
class Scores:
    """Every score a passage collected (``None``: that stage did not see it)."""

    dense: float | None = None  # cosine similarity
    bm25: float | None = None
    dense_rank: int | None = None  # 1-based
    bm25_rank: int | None = None
    fused: float = 0.0  # RRF score
    fused_rank: int = 0
    coverage: float | None = None  # share of the query's IDF mass in the passage text
    title: float | None = None  # likewise in its heading path and file name
    section: float | None = None  # likewise in its text with its own (innermost) heading
    collection_chunks: int | None = None  # the size of the collection it was found in
    rerank: float | None = None  # relevance from the second pass (0..1)
    llm: float | None = None  # 0-10 grade from the LLM reranker


@dataclass
class Passage:
    """A chunk with its scores. Its vectors were loaded with it: stages never re-read them."""

    chunk: ChunkRecord
    scores: Scores = field(default_factory=Scores)

    @property
    def chunk_id(self) -> str:
        """The chunk's id."""
        return self.chunk.chunk_id

    @property
    def text(self) -> str:
        """The chunk's text (without its heading prefix)."""
        return self.chunk.text

    @property
    def source(self) -> str:
        """File name."""
        return self.chunk.meta.source

    @property
    def page(self) -> int | None:
        """1-based page, or ``None`` for formats without pages."""
        return self.chunk.meta.page

    @property
    def headings(self) -> list[str]:
        """Heading path, outermost first."""
        return list(self.chunk.meta.headings)

    @property
    def vector(self) -> np.ndarray:
        """The passage vector (unit length)."""
        return self.chunk.vector

    @property
    def label(self) -> str:
        """``file, p. N, Section`` (plain text: render it escaped)."""
        parts = [self.source]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.headings:
            parts.append(self.headings[-1])
        return ", ".join(parts)

    def to_dict(self, number: int) -> dict[str, Any]:
        """The JSON form every writer uses (``search --json``, ``ask --json``, saved chats)."""
        out = {
            "number": number,
            "chunk_id": self.chunk_id,
            "source": self.source,
            "page": self.page,
            "headings": self.headings,
            "kind": self.chunk.meta.kind,  # how to show the text: only Markdown is Markdown
            "text": self.text,
            "scores": asdict(self.scores),
        }
        if self.chunk.meta.code_spans:  # lines shown as code (the loader's)
            out["code"] = [list(s) for s in self.chunk.meta.code_spans]
        return out
