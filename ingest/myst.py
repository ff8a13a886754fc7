"""MyST (Markdown for Sphinx, Jupyter Book) read as the prose it shows.

MyST writes a directive as a fenced block whose info string names it in braces
(```` ```{note} ````, or ``:::{note}`` with the colon-fence extension). To a CommonMark
reader every such block is code: a note was indexed and quoted as a code block, its
Markdown left unread. Admonitions and version notes are prose; they become a paragraph led
by what they are ("Note:", "New in version 10.0."); a table of contents (toctree) is
navigation, and is left out. Every other directive (code, eval-rst, ...) stays as written.
A role's name before its code span ("{pypi}`requests`") is left out: the span is what a
reader sees, and so is a cross-reference label ("(editable-installs)=").
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from rag.markdown import map_prose

# Directives whose body is prose, and the words that lead it.
LABELS = {
    "note": "Note:",
    "warning": "Warning:",
    "tip": "Tip:",
    "hint": "Hint:",
    "important": "Important:",
    "caution": "Caution:",
    "attention": "Attention:",
    "danger": "Danger:",
    "error": "Error:",
    "seealso": "See also:",
    "todo": "To do:",
}
VERSIONS = {
    "versionadded": "New in version {}.",
    "versionchanged": "Changed in version {}.",
    "deprecated": "Deprecated since version {}.",
    "versionremoved": "Removed in version {}.",
}
NAVIGATION = {"toctree", "contents"}  # a list of other pages (or of this one's sections)
_INFO = re.compile(r"^\{([\w-]+)\}\s*(.*)$")
_OPTION = re.compile(r"^:[\w-]+:")  # ":class: dropdown" under the directive
_COLON_OPEN = re.compile(r"^(:{3,})\{([\w-]+)\}[ \t]*(.*)$")
_ROLE = re.compile(r"\{[a-z][\w:.+-]*\}\Z")  # "{py:func}" right before a code span
# A label for cross-references, and the blank line after it.
_TARGET = re.compile(r"^\([\w.:-]+\)=[ \t]*(?:\n[ \t]*\n|\n|\Z)", re.M)
_PARSER = MarkdownIt("commonmark")


def as_commonmark(text: str) -> str:
    """``text`` with its MyST admonitions and version notes as paragraphs, its roles' names
    and its targets ("(editable-installs)=" above a heading) left out; unchanged (and not
    parsed) when it holds none of their marks."""
    if "{" not in text and ")=" not in text:
        return text
    text = _colon_fences(_backtick_fences(text))
    return map_prose(text, lambda prose: _TARGET.sub("", _ROLE.sub("", prose)))


def _backtick_fences(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    at = 0
    for token in _PARSER.parse(text):
        if token.type != "fence" or token.level != 0 or not token.map:
            continue
        prose = _prose(token.info.strip(), token.content)
        if prose is None:
            continue
        first, last = token.map
        out += lines[at:first]
        out += _apart(out, prose, lines[last:])
        at = last
    if not out:
        return text
    return "\n".join(out + lines[at:])


def _colon_fences(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        opened = _COLON_OPEN.match(lines[i])
        close = re.compile(rf"^{opened.group(1)}[ \t]*$") if opened else None
        end = next((j for j in range(i + 1, len(lines)) if close and close.match(lines[j])), None)
        prose = None
        if opened and end is not None:
            body = "\n".join(lines[i + 1 : end])
            prose = _prose(f"{{{opened.group(2)}}} {opened.group(3)}", body)
        if prose is None or end is None:
            out.append(lines[i])
            i += 1
            continue
        out += _apart(out, _colon_fences("\n".join(prose)).split("\n"), lines[end + 1 :])
        i = end + 1
    return "\n".join(out)


def _prose(info: str, body: str) -> list[str] | None:
    """The lines that replace a directive ``{name} argument`` with ``body``, or ``None``
    if it is not one read as prose."""
    match = _INFO.match(info)
    if not match:
        return None
    name, argument = match.group(1).lower(), match.group(2).strip()
    if name in VERSIONS:
        lead = VERSIONS[name].format(argument) if argument else ""
    elif name in LABELS:
        lead = " ".join(filter(None, [LABELS[name], argument]))
    elif name == "admonition":  # its argument is its title
        lead = f"{argument}:" if argument else ""
    elif name in NAVIGATION:
        return []
    else:
        return None
    lines = _without_options(body.strip("\n").split("\n")) if body.strip() else []
    return [*filter(None, [lead]), *lines]


def _apart(before: list[str], prose: list[str], after: list[str]) -> list[str]:
    """``prose`` with a blank line on each side where the text has none, so that it is a
    paragraph of its own (a fence may follow a paragraph's last line directly)."""
    head = [""] if before and before[-1].strip() else []
    tail = [""] if after and after[0].strip() else []
    return head + prose + tail


def _without_options(lines: list[str]) -> list[str]:
    """A directive's body less its options: ":key: value" lines, or a YAML block between
    "---" lines, at its start."""
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            return lines[end + 1 :]
    i = 0
    while i < len(lines) and _OPTION.match(lines[i].strip()):
        i += 1
    return lines[i:]
