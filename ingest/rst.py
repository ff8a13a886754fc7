"""reStructuredText (Sphinx, Python packages' docs): sections, code and markup.

Docent keeps a .rst file's text as written, but its explicit markup is not text: a
hyperlink target (".. _`pip config`:"), a comment, a directive's name and options
(".. pip-command-options:: config", ":maxdepth: 2") were indexed and quoted as sentences,
and a role showed its markup (":ref:`--log <--log>`"). :func:`markup_as_text` makes a
target or comment a blank line (so titles and paragraphs keep their places), leads a note
or version note by what it is ("Note:", "New in version 3.2."), keeps any other
directive's argument and shows a role's text. The code (literal and doctest blocks,
:func:`code_lines`) is found in the text as written and kept as it is; the markup that
introduces it (".. code-block:: python", a paragraph's closing "::") is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ingest.document import Block, LoadedDocument, line_spans, or_headings
from ingest.myst import LABELS, NAVIGATION, VERSIONS
from ingest.textdecode import decode_text

# A section title's underline (and optional overline): one punctuation character repeated.
_RST_RULE = re.compile(r"""([=\-`:'"~^_*+#<>.])\1{2,}[ \t]*""")


def load_rst(name: str, data: bytes) -> LoadedDocument:
    """reStructuredText (Sphinx, Python packages' docs): blocks between section titles, as
    for Markdown; a title's level is the order in which its adornment style first appears,
    as docutils ranks them. The text is kept as written, less its markup
    (:func:`markup_as_text`), and read as plain text (kind ``text``); its literal and
    doctest blocks are code."""
    raw = decode_text(name, data).split("\n")
    code = code_lines(raw)
    lines = markup_as_text(raw, code)  # one line for each, so ``code`` still holds
    blocks: list[Block] = []
    styles: list[tuple[str, bool]] = []  # (adornment character, overlined), in order of use
    path: list[str] = []
    titles: list[str] = []
    start = 0  # where the current section's body starts

    def flush(end: int) -> None:
        kept = [j for j in range(start, end) if lines[j].strip()]
        if kept:
            shown = [
                j
                for j in range(kept[0], kept[-1] + 1)  # one blank line where markup left more
                if lines[j].strip() or lines[j - 1].strip() or j in code
            ]
            text = [lines[j] for j in shown]
            spans = line_spans(text, [j in code for j in shown])
            blocks.append(Block("\n".join(text), None, list(path), spans))

    i = 0
    while i < len(lines):
        title = _rst_title(lines, i)
        if title is None:
            i += 1
            continue
        text, style, used = title
        flush(i)
        if style not in styles:
            styles.append(style)
        level = styles.index(style)
        path = path[:level] + [text]
        titles.append(text)
        i += used
        start = i
    flush(len(lines))
    return LoadedDocument(name, "text", 0, or_headings(blocks, titles))


# What introduces a literal block: a paragraph ending "::", or a code directive. Any other
# directive ends its name with "::" too, and its body is prose (".. note::", ".. warning::").
_RST_LITERAL = re.compile(r"::[ \t]*$")
_DOCTEST = re.compile(r"^\s*>>>(?:\s|$)")  # a doctest block runs to the next blank line


def code_lines(lines: list[str]) -> set[int]:
    """The indices of the ``lines`` (reStructuredText as written) that are code: literal
    blocks (the lines indented under a "::" or a code directive, its options skipped) and
    doctest blocks (">>> "), blank lines between their lines included."""
    code: set[int] = set()

    def block(first: int, end: int) -> None:
        while end > first and not lines[end - 1].strip():
            end -= 1
        code.update(range(first, end))

    i = 0
    while i < len(lines):
        if _rst_literal(lines[i]):
            base = _indent_of(lines[i])
            options = _DIRECTIVE.match(lines[i]) is not None  # a "::" paragraph has none
            j = i + 1
            while j < len(lines) and (
                not lines[j].strip() or (options and _option(lines[j], base))
            ):
                j += 1
            k = j
            while k < len(lines) and (not lines[k].strip() or _indent_of(lines[k]) > base):
                k += 1
            if j < len(lines) and _indent_of(lines[j]) > base:
                block(j, k)
            i = max(k, i + 1)
        elif _DOCTEST.match(lines[i]):
            k = i
            while k < len(lines) and lines[k].strip():
                k += 1
            block(i, k)
            i = k
        else:
            i += 1
    return code


def _option(line: str, base: int) -> bool:
    """Whether ``line`` reads as an option line (":linenos:") of a directive indented
    ``base`` (only a directive has options: under a "::" paragraph, ":ref:`x`" is code)."""
    return _indent_of(line) > base and _OPTION.match(line) is not None


def _rst_literal(line: str) -> bool:
    """Whether the lines indented under ``line`` are a literal block."""
    directive = _DIRECTIVE.match(line)
    if directive:
        return directive.group(2).lower() in _CODE_DIRECTIVES
    return _RST_LITERAL.search(line) is not None


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _rst_title(lines: list[str], i: int) -> tuple[str, tuple[str, bool], int] | None:
    """``(title, style, lines used)`` if a section title starts at line ``i``: a text line
    under an overline and over an underline of one character (it may be inset), or a text
    line over one after a blank line. Only the overlined title may start past the first
    column (an indented line is a quote or code), and the rule is at least as long as the
    title (docutils warns below that, and a shorter rule under prose is more often a table
    or a transition than a title)."""

    def rule(j: int) -> str | None:
        match = _RST_RULE.fullmatch(lines[j]) if 0 <= j < len(lines) else None
        return match.group(1) if match else None

    def text(j: int, inset: bool = False) -> str | None:
        line = lines[j] if j < len(lines) else ""
        ok = line.strip() and (inset or not line[0].isspace()) and rule(j) is None
        return line.strip() if ok else None

    over = rule(i)
    if over and text(i + 1, inset=True) is not None and rule(i + 2) == over:
        title = text(i + 1, inset=True) or ""
        if len(lines[i + 2].rstrip()) >= len(title):
            return title, (over, True), 3
    if text(i) is not None and (under := rule(i + 1)) and (i == 0 or not lines[i - 1].strip()):
        title = text(i) or ""
        if len(lines[i + 1].rstrip()) >= len(title):
            return title, (under, False), 2
    return None


_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+?)::(?:\s+(.*))?$")
_EXPLICIT = re.compile(r"^(\s*)\.\.(?:\s|$)")  # any explicit markup: ".. " starts it
_FOOTNOTE = re.compile(r"^\s*\.\.\s+\[")  # ".. [1] text": a footnote is text
_METADATA = re.compile(r"^:(?:orphan|nocomments|nosearch|tocdepth):")
_OPTION = re.compile(r"^\s+:[\w -]+:")
_ROLE = re.compile(r"(?<![\w`]):(?:[\w.+-]+:)+`([^`\n]+)`")
_TARGET_IN_ROLE = re.compile(r"\s*<[^<>]*>$")
_CODE_DIRECTIVES = {"code-block", "code", "sourcecode", "parsed-literal", "testcode"}


def markup_as_text(lines: list[str], code: Collection[int] = frozenset()) -> list[str]:
    """``lines`` of reStructuredText with explicit markup and roles read as text, the lines
    in ``code`` (see :func:`code_lines`) as written; one line out for each line in, so the
    document's structure is unchanged."""
    out: list[str] = []
    skip_under: int | None = None  # drop the lines indented deeper than this (a comment)
    options_under: int | None = None  # drop option lines right under a directive
    for i, line in enumerate(lines):
        indent = _indent_of(line)
        if i in code:
            out.append(line)
            skip_under = options_under = None
            continue
        if skip_under is not None and (not line.strip() or indent > skip_under):
            out.append("")
            continue
        skip_under = None
        if options_under is not None and _option(line, options_under):
            out.append("")
            continue
        options_under = None
        directive = _DIRECTIVE.match(line)
        if directive and directive.group(2).lower() in NAVIGATION:
            out.append("")  # a table of contents: navigation, its entries included
            skip_under = indent
        elif directive:
            out.append(_directive(line, directive))
            options_under = len(directive.group(1))
        elif _FOOTNOTE.match(line):  # ".. [1] text" shows "[1] text"
            out.append(_ROLE.sub(_role_text, line.replace("..", "  ", 1)))
        elif _EXPLICIT.match(line):
            out.append("")  # a target, a substitution or a comment, and what it holds
            skip_under = indent
        elif _METADATA.match(line):
            out.append("")  # Sphinx's file-wide settings (":orphan:"), not text
        else:
            out.append(_literal_mark(_ROLE.sub(_role_text, line)))
    return out


def _literal_mark(line: str) -> str:
    """A line as shown when it ends with "::" (a literal block follows): "Type::" shows
    "Type:", "Type ::" shows "Type", and "::" alone nothing."""
    if not _RST_LITERAL.search(line):
        return line
    body = line.rstrip()[:-2]
    return body.rstrip() if body.endswith((" ", "\t")) or not body.strip() else body + ":"


def _directive(line: str, match: re.Match[str]) -> str:
    indent, name, argument = match.group(1), match.group(2).lower(), match.group(3) or ""
    if name in _CODE_DIRECTIVES:
        return ""  # what it marks is code: the lines under it say so
    if name in VERSIONS:
        version, _, rest = argument.partition(" ")
        lead = VERSIONS[name].format(version) if version else ""
        return indent + " ".join(filter(None, [lead, rest]))
    if name in LABELS:
        return indent + " ".join(filter(None, [LABELS[name], argument]))
    return indent + argument


def _role_text(match: re.Match[str]) -> str:
    """What a role shows: ":ref:`the log option <--log>`" shows "the log option";
    ":func:`~os.path.join`" shows "os.path.join"."""
    text = match.group(1)
    shown = _TARGET_IN_ROLE.sub("", text) if not text.startswith("<") else text
    return shown.lstrip("~!")
