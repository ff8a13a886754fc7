"""What every loader returns: a document's text as blocks, with pages and heading paths."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    """A run of text under one heading path, on one page (``None`` when not paginated)."""

    text: str
    page: int | None = None
    headings: list[str] = field(default_factory=list)
    code: list[tuple[int, int]] = field(default_factory=list)  # preformatted spans of text


@dataclass
class LoadedDocument:
    """A file's text, split into blocks at page and heading boundaries."""

    name: str
    kind: str
    pages: int  # 0 when the format has no pages
    blocks: list[Block]


def or_headings(blocks: list[Block], titles: list[str]) -> list[Block]:
    """``blocks``, or, for a document of headings alone (a title-only record, an outline),
    one block of its headings' text: it has words to find, not "no readable text"."""
    titles = [t for t in titles if t]
    return blocks or ([Block("\n".join(titles))] if titles else [])
