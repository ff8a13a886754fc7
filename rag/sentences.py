"""Sentence spans of a passage (for the second pass and for extractive answers)."""

from __future__ import annotations

import re

from rag.markdown import fenced_spans

# Kana, CJK ideographs and Hangul: scripts written without spaces between words.
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"

# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace and
# an upper-case letter, digit or opening bracket; blank lines and list bullets also end one.
# Chinese and Japanese end one at 。！？ (and a closing quote after it), spaces or not.
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[A-Z0-9(\[“\"'•*" + CJK_CHARS + r"-])"
    r"|(?:(?<=[。！？])|(?<=[。！？][」』”’）]))\s*(?=[^\s」』”’）])"
    r"|\n\s*\n|\n(?=\s*[•*-]\s)"
)
_WIDE = re.compile(f"[{CJK_CHARS}]")
MIN_CHARS = 12  # shorter is a fragment ("Fig. 1"); a CJK character counts as two


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences in ``text`` (whitespace trimmed).

    A fenced code block is one "sentence", fences included: code is quoted whole or not at
    all, never cut at its blank lines or its full stops.
    """
    spans: list[tuple[int, int]] = []
    at = 0
    for start, end in fenced_spans(text):
        spans += _prose_spans(text, at, start)
        spans.append((start, end))
        at = end
    spans += _prose_spans(text, at, len(text))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s + len(_WIDE.findall(text, s, e)) >= MIN_CHARS:
            out.append((s, e))
    return out


def _prose_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _BOUNDARY.finditer(text, start, end):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, end))
    return spans


def is_code(sentence: str) -> bool:
    """Whether ``sentence`` is one fenced code block (as :func:`sentence_spans` gives them)."""
    stripped = sentence.strip()
    spans = fenced_spans(stripped)
    return len(spans) == 1 and spans[0] == (0, len(stripped))


def is_table(sentence: str) -> bool:
    """Whether ``sentence`` is table rows: lines with the same number of "|" cell bars, two
    or more rows of a Markdown table (``| a | b |``) or three or more of a Word table as
    Docent loads it (``a | b``). Wrapped prose that mentions "|" rarely keeps one count."""
    lines = [line.strip() for line in sentence.strip().splitlines() if line.strip()]
    if lines and lines[-1] == "…":  # a long table, cut after a whole row
        lines.pop()
    bars = {line.count("|") for line in lines}
    if len(lines) < 2 or len(bars) != 1 or bars == {0}:
        return False
    return all(line.startswith("|") for line in lines) or len(lines) >= 3


def clean(sentence: str) -> str:
    """One line: PDF line breaks and hyphenation joined, spaces collapsed (a fenced code
    block keeps its lines, less trailing spaces; table rows stay one a line)."""
    if is_code(sentence):
        return "\n".join(line.rstrip() for line in sentence.strip().splitlines())
    if is_table(sentence):
        return "\n".join(" ".join(line.split()) for line in sentence.splitlines() if line.strip())
    sentence = re.sub(r"(\w)-\n(\w)", r"\1\2", sentence)
    return " ".join(sentence.split())
