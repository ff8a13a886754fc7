"""Which lines of a PDF page are set in a monospace font: code, commands, program output.

A PDF's text has no sign of code but its font. PDFium names each character's font; a line
whose every character is in a typewriter face (Courier, TeX's CMTT, any "Mono") is shown as
code: its line ends kept, in a code block, never joined as wrapped prose. Measured on R-intro:
0.4 s for 113 pages. A document set mostly in such a face (a page of plain text printed to
PDF) is prose in a monospace font, and none of its lines is taken for code.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

# Typewriter faces by name: Courier, Consolas, Menlo, Inconsolata, DejaVu Sans Mono, any
# "Mono" or "Code" face, TeX's tt fonts (CMTT10, SFTT1000, LMMono, txtt, "...-tt10").
MONO_FONT = re.compile(
    r"(?i)mono|courier|consol|menlo|inconsolata|code|typewriter|(?:^|[+_-])[a-z]{0,3}tt\d"
)
_FIXED_PITCH = 1  # PDF font descriptor flag
MOSTLY_MONO = 0.5  # more of a document's characters in such a face: prose, none of it code


@dataclass
class PageCode:
    """A page's lines set in a monospace font (stripped), and its character counts."""

    lines: set[str]
    mono: int = 0  # characters (not spaces) in a monospace face
    chars: int = 0  # characters (not spaces)


def page_code(textpage: object, text: str) -> PageCode:
    """The lines of ``text`` (PDFium's text of ``textpage``, character for character) whose
    every character is in a monospace font."""
    import pypdfium2.raw as pdfium_c

    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    known: dict[bytes, bool] = {}
    found = PageCode(set())
    line: list[str] = []
    mono = chars = 0
    for index, char in enumerate(text + "\n"):
        if char in "\r\n":
            if chars and mono == chars:
                found.lines.add("".join(line).strip())
            found.mono, found.chars = found.mono + mono, found.chars + chars
            line, mono, chars = [], 0, 0
            continue
        line.append(char)
        if char.isspace():
            continue
        pdfium_c.FPDFText_GetFontInfo(textpage, index, name, len(name), ctypes.byref(flags))
        if name.value not in known:
            known[name.value] = bool(MONO_FONT.search(name.value.decode("latin-1")))
        chars += 1
        mono += known[name.value] or bool(flags.value & _FIXED_PITCH)
    return found


def code_lines(pages: list[PageCode]) -> list[set[str]]:
    """Each page's code lines, or none anywhere in a document set mostly in a monospace face."""
    mono, chars = sum(p.mono for p in pages), sum(p.chars for p in pages)
    if chars and mono > MOSTLY_MONO * chars:
        return [set() for _ in pages]
    return [p.lines for p in pages]


def code_spans(text: str, lines: set[str]) -> list[tuple[int, int]]:
    """Where ``text`` (a block of a page) holds ``lines``: runs of whole lines."""
    spans: list[tuple[int, int]] = []
    at = 0
    for line in text.split("\n"):
        if line.strip() and line.strip() in lines:
            if spans and spans[-1][1] + 1 == at:
                spans[-1] = (spans[-1][0], at + len(line))
            else:
                spans.append((at, at + len(line)))
        at += len(line) + 1
    return spans
