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


def line_spans(lines: list[str], flags: list[bool]) -> list[tuple[int, int]]:
    """Where the flagged ``lines`` are in ``"\n".join(lines)``: each run of consecutive ones
    as one span of whole lines (a block's lines of code, say)."""
    spans: list[tuple[int, int]] = []
    at = 0
    for line, flagged in zip(lines, flags, strict=True):
        if flagged and spans and spans[-1][1] + 1 == at:
            spans[-1] = (spans[-1][0], at + len(line))
        elif flagged:
            spans.append((at, at + len(line)))
        at += len(line) + 1
    return spans


def or_headings(blocks: list[Block], titles: list[str]) -> list[Block]:
    """``blocks``, or, for a document of headings alone (a title-only record, an outline),
    one block of its headings' text: it has words to find, not "no readable text"."""
    titles = [t for t in titles if t]
    return blocks or ([Block("\n".join(titles))] if titles else [])
