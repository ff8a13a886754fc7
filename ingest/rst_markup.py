"""reStructuredText's markup read as the text it shows.

Docent keeps a .rst file's text as written, but its explicit markup is not text: a
hyperlink target (".. _`pip config`:"), a comment, a directive's name and options
(".. pip-command-options:: config", ":maxdepth: 2") were indexed and quoted as sentences,
and a role showed its markup (":ref:`--log <--log>`"). Here a target or comment becomes a
blank line (so titles and paragraphs keep their places), a note or version note is led by
what it is ("Note:", "New in version 3.2."), any other directive keeps its argument, and a
role shows its text. Code directives (which mark literal blocks) are left as written.
"""

from __future__ import annotations

import re

from ingest.myst import LABELS, VERSIONS

_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+?)::(?:\s+(.*))?$")
_EXPLICIT = re.compile(r"^(\s*)\.\.(?:\s|$)")  # any explicit markup: ".. " starts it
_FOOTNOTE = re.compile(r"^\s*\.\.\s+\[")  # ".. [1] text": a footnote is text
_OPTION = re.compile(r"^\s+:[\w -]+:")
_ROLE = re.compile(r"(?<![\w`]):(?:[\w.+-]+:)+`([^`\n]+)`")
_TARGET_IN_ROLE = re.compile(r"\s*<[^<>]*>$")
_CODE_DIRECTIVES = {"code-block", "code", "sourcecode", "parsed-literal", "testcode"}


def markup_as_text(lines: list[str]) -> list[str]:
    """``lines`` of reStructuredText with explicit markup and roles read as text (one line
    out for each line in, so the document's structure is unchanged)."""
    out: list[str] = []
    skip_under: int | None = None  # drop the lines indented deeper than this (a comment)
    options_under: int | None = None  # drop option lines right under a directive
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if skip_under is not None and (not line.strip() or indent > skip_under):
            out.append("")
            continue
        skip_under = None
        if options_under is not None and indent > options_under and _OPTION.match(line):
            out.append("")
            continue
        options_under = None
        directive = _DIRECTIVE.match(line)
        if directive:
            out.append(_directive(line, directive))
            options_under = len(directive.group(1))
        elif _FOOTNOTE.match(line):  # ".. [1] text" shows "[1] text"
            out.append(_ROLE.sub(_role_text, line.replace("..", "  ", 1)))
        elif _EXPLICIT.match(line):
            out.append("")  # a target, a substitution or a comment, and what it holds
            skip_under = indent
        else:
            out.append(_ROLE.sub(_role_text, line))
    return out


def _directive(line: str, match: re.Match[str]) -> str:
    indent, name, argument = match.group(1), match.group(2).lower(), match.group(3) or ""
    if name in _CODE_DIRECTIVES:
        return line
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
