"""Where a Markdown text holds code: fenced blocks and inline code spans are left as they are by
everything that rewrites or reads prose (sanitising, citation markers, sentence splitting)."""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt

# A backtick fence's info string may not hold a backtick (CommonMark): "```x`" opens nothing.
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}(?=[^`\n]*$)|~{3,})", re.M)
# An inline code span: a run of backticks not escaped, to the next run of the same length,
# within one paragraph (a blank line ends the paragraph, and the span with it).
_INLINE_CODE = re.compile(r"(?<![\\`])(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
_BLOCKS = MarkdownIt("commonmark")  # block structure only: where code blocks are
_LINE_END = re.compile(r"\r\n|\r|\n")  # as CommonMark ends lines


def split_code(text: str) -> list[tuple[bool, str]]:
    """``(is_code, piece)`` runs whose concatenation is ``text``.

    Code is a code block as a CommonMark renderer finds it (fenced, to its closing fence or
    the end of the text, or indented by four spaces; in lists and quotes too) or an inline
    code span (a run of backticks to the next run of the same length).
    """
    out: list[tuple[bool, str]] = []
    at = 0
    for start, end in code_blocks(text):
        out += _inline(text[at:start])
        out.append((True, text[start:end]))
        at = end
    out += _inline(text[at:])
    return [(code, piece) for code, piece in out if piece]


def code_blocks(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the whole lines of ``text`` that are code blocks, found by a
    CommonMark parser (markdown-it) rather than by pattern: what it calls code is what a
    reader's renderer shows as code, and nothing else is left unsanitised."""
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)] + [len(text)]
    spans: list[tuple[int, int]] = []
    for token in _BLOCKS.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            first, last = token.map
            start, end = starts[min(first, len(starts) - 1)], starts[min(last, len(starts) - 1)]
            if spans and start < spans[-1][1]:
                continue
            spans.append((start, end))
    return spans


def indented_blocks(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the indented code blocks in ``text`` (CommonMark's, not in a
    list or a quote), their last line's end excluded."""
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)] + [len(text)]
    spans = []
    for token in _BLOCKS.parse(text):
        if token.type == "code_block" and token.map and token.level == 0:
            first, last = token.map
            end = starts[min(last, len(starts) - 1)]
            spans.append((starts[first], end - 1 if text[end - 1 : end] == "\n" else end))
    return spans


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
