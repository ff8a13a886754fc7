"""Sentence spans of a passage (for the second pass and for extractive answers)."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace and
# an upper-case letter, digit or opening bracket; blank lines and list bullets also end one.
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[A-Z0-9(\[“\"'•*-])"
    r"|\n\s*\n|\n(?=\s*[•*-]\s)"
)
MIN_CHARS = 12


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences in ``text`` (whitespace trimmed)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= MIN_CHARS:
            out.append((s, e))
    return out


def clean(sentence: str) -> str:
    """One line: PDF line breaks and hyphenation joined, spaces collapsed."""
    sentence = re.sub(r"(\w)-\n(\w)", r"\1\2", sentence)
    return " ".join(sentence.split())
