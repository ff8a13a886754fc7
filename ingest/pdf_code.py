"""Which lines of a PDF page are set in a monospace font: code, commands, program output.

A PDF's text has no sign of code but its font. PDFium names each character's font; a line
whose every word is in a typewriter face (Courier, TeX's CMTT, any "Mono") is shown as code:
its line ends kept, in a code block, never joined as wrapped prose. A document set mostly in
such a face (plain text printed to PDF) is prose in a monospace font, and none of its lines
is taken for code.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass

from ingest.document import line_spans

# Typewriter faces by name: Courier, Consolas, Menlo, Inconsolata, DejaVu Sans Mono, any
# "Mono" or "Code" face, TeX's tt fonts (CMTT10, SFTT1000, LMMono, txtt, "...-tt10").
MONO_FONT = re.compile(
    r"(?i)mono|courier|consol|menlo|inconsolata|code|typewriter|(?:^|[+_-])[a-z]{0,3}tt\d"
)
_FIXED_PITCH = 1  # PDF font descriptor flag
MOSTLY_MONO = 0.5  # more of a document's words in such a face: prose, none of it code


@dataclass
class PageCode:
    """A page's lines set in a monospace font (stripped), and its word counts."""

    lines: set[str]
    mono: int = 0  # words in a monospace face
    words: int = 0


def page_code(textpage: object, text: str) -> PageCode:
    """The lines of ``text`` (PDFium's text of ``textpage``) whose every word is in a
    monospace font. A word's font is its first and last characters' (a word in code followed
    by a full stop in the text's font is prose): two calls a word, not one a character (the
    R manuals' 434 pages: 1.35 s that way, 0.44 s so)."""
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFText_CountChars(textpage) != len(text):  # its indices are not the text's
        return PageCode(set())  # (a character outside the BMP takes two): none found
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    known: dict[bytes, bool] = {}

    def mono_at(index: int) -> bool:
        pdfium_c.FPDFText_GetFontInfo(textpage, index, name, len(name), ctypes.byref(flags))
        if name.value not in known:
            known[name.value] = bool(MONO_FONT.search(name.value.decode("latin-1")))
        return known[name.value] or bool(flags.value & _FIXED_PITCH)

    found = PageCode(set())
    for line in _LINE.finditer(text):  # offsets into text itself: PDFium's character indices
        words = [(w.start(), w.end() - 1) for w in _WORD.finditer(text, line.start(), line.end())]
        mono = sum(mono_at(first) and mono_at(last) for first, last in words)
        if words and mono == len(words):
            found.lines.add(line.group().strip())
        found.mono, found.words = found.mono + mono, found.words + len(words)
    return found


_LINE = re.compile(r"[^\r\n]+")
_WORD = re.compile(r"\S+")


def code_lines(pages: list[PageCode]) -> list[set[str]]:
    """Each page's code lines, or none anywhere in a document set mostly in a monospace face."""
    mono, words = sum(p.mono for p in pages), sum(p.words for p in pages)
    if words and mono > MOSTLY_MONO * words:
        return [set() for _ in pages]
    return [p.lines for p in pages]


def code_spans(text: str, lines: set[str]) -> list[tuple[int, int]]:
    """Where ``text`` (a block of a page) holds ``lines``: runs of whole lines."""
    split = text.split("\n")
    return line_spans(split, [bool(line.strip()) and line.strip() in lines for line in split])
