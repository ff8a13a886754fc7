"""Where a Markdown text holds code: fenced blocks and inline code spans are left as they are by
everything that rewrites or reads prose (sanitising, citation markers, sentence splitting)."""

from __future__ import annotations

import re
from collections.abc import Callable

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)


def split_code(text: str) -> list[tuple[bool, str]]:
    """``(is_code, piece)`` runs whose concatenation is ``text``.

    Code is a fenced block (```` ``` ```` or ``~~~``, to its closing fence or the end of the
    text) or an inline code span (a run of backticks to the next run of the same length).
    """
    out: list[tuple[bool, str]] = []
    at = 0
    for start, end in fenced_spans(text):
        out += _inline(text[at:start])
        out.append((True, text[start:end]))
        at = end
    out += _inline(text[at:])
    return [(code, piece) for code, piece in out if piece]


def fenced_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the fenced code blocks in ``text``, fences included
    (an unclosed block runs to the end of the text: a chunk may end inside one)."""
    spans: list[tuple[int, int]] = []
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        fence = match.group(1)
        end = i + 1
        while end < len(lines) and not re.match(
            rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]
        ):
            end += 1
        spans.append((starts[i], starts[min(end + 1, len(lines))]))
        i = end + 1
    return spans


def _inline(text: str) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    at = 0
    for match in _INLINE_CODE.finditer(text):
        out += [(False, text[at : match.start()]), (True, match.group(0))]
        at = match.end()
    out.append((False, text[at:]))
    return out


def map_prose(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to its prose only (code is kept byte for byte)."""
    return "".join(piece if code else change(piece) for code, piece in split_code(text))
