"""Page furniture out of PDF text: running headers and footers, and bare page numbers.

A printed page repeats its chapter title and number at the top or bottom; as text, those
lines become chunks of their own ("14", "Chapter 2: Simple manipulations 9") that match
queries by their words and carry nothing. A line is furniture when it sits in a page's first
or last two lines and, with its digits masked, recurs there on at least three pages (a chapter's
running head recurs only through that chapter); a bare number (or roman numeral) there is a
page number.
"""

from __future__ import annotations

import re
from collections import Counter

EDGE = 2  # lines at the top and at the bottom of a page that may be furniture
RECURRING = 3
_PAGE_NUMBER = re.compile(r"^(?:\d{1,4}|[ivxlcdm]{1,6})$", re.IGNORECASE)


def strip_margins(pages: list[str]) -> list[str]:
    """Each page's text without its running headers, footers and page numbers."""
    edges = [_edge_lines(text) for text in pages]
    counts = Counter(_shape(line) for lines in edges for line in set(lines))
    return [_strip(text, counts) for text in pages]


def _edge_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[:EDGE] + lines[-EDGE:] if len(lines) > 2 * EDGE else lines


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _strip(text: str, counts: Counter[str]) -> str:
    lines = text.splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edge = set(filled[:EDGE] + filled[-EDGE:])
    keep = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        furniture = i in edge and (
            _PAGE_NUMBER.match(stripped) is not None or counts[_shape(stripped)] >= RECURRING
        )
        if not furniture:
            keep.append(line)
    return "\n".join(keep)
