"""Make untrusted text (model output, document text, file names) safe to show as Markdown.

Nothing a document or a model wrote may make a reader's browser fetch something or run
something: images become their alt text (a remote image is a tracking or exfiltration channel),
links are kept only for ``http(s)`` and ``mailto``, raw HTML is shown as text, and strings that
are not Markdown at all (file names, headings) are escaped completely. Code is left as written.
"""

from __future__ import annotations

import itertools
import re
import statistics
import unicodedata
from collections.abc import Sequence

from markdown_it import MarkdownIt

from rag.markdown import map_prose

SAFE_SCHEMES = ("http://", "https://", "mailto:")

# An image's alt text may run over a line break (not a blank line: that ends the paragraph).
_ALT = r"((?:[^\]\n]|\n(?![ \t]*\n))*)"
_IMAGE = re.compile(r"!\[" + _ALT + r"\](?:\([^)\n]*\)|\[[^\]\n]*\])?")
# A link's text may hold escaped brackets ("\]" does not close it) and one level of balanced
# ones ("[see [1]]"); its address one level of balanced parentheses ("javascript:alert(1)"),
# as CommonMark allows. The second form (no nesting) catches what the first leaves, so nothing
# that renders as a link is missed.
_PLAIN = r"(?:\\.|[^\[\]\\\n])"
_TEXT = r"\[((?:" + _PLAIN + r"|\[" + _PLAIN + r"*\])*)\]"
_TITLE = r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
_LINKS = (
    re.compile(_TEXT + r"\(\s*<?((?:[^()\s>]|\([^()\s>]*\))*)>?" + _TITLE),
    re.compile(_TEXT + r"\(\s*<?([^)\s>]*)>?" + _TITLE),
)
_REF_DEFINITION = re.compile(r"^( {0,3})\[([^\]\n]+)\]:\s*<?(\S*?)>?(?=\s|$)", re.M)


# What a reader's renderer makes of the result: CommonMark with raw HTML on, as many viewers
# of the downloaded chat have it, and every link kept (markdown-it drops "javascript:" links
# itself; another renderer might not, so the check must see them).
_RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_RENDERER.validateLink = lambda url: True


def safe_markdown(text: str) -> str:
    """Markdown without images, without raw HTML and with only http(s)/mailto links.

    The prose is rewritten, code left as written; then the result is parsed as a renderer
    would, and if anything there would still fetch or run (an image, HTML, another link's
    scheme: a case the rewriting missed), the whole text is shown literally instead.
    """
    safe = map_prose(text, _sanitise)
    return safe if _inert(safe) else literal(text)


def _inert(markdown: str) -> bool:
    """Whether ``markdown`` renders without images, raw HTML or links but http(s)/mailto."""
    tokens = list(_RENDERER.parse(markdown))
    while tokens:
        token = tokens.pop()
        tokens += token.children or []
        if token.type in ("image", "html_inline", "html_block"):
            return False
        if token.type == "link_open" and not _safe(str(token.attrGet("href") or "")):
            return False
    return True


def literal(text: str) -> str:
    """``text`` shown exactly as written, line by line, none of it read as Markdown."""
    return "  \n".join(plain(line.strip()) for line in text.splitlines())


def source_markdown(text: str, kind: str | None, code: Sequence[tuple[int, int]] = ()) -> str:
    """A passage's text as Markdown to show it by: as Markdown only if its file was Markdown.

    Every other kind is plain text whose line ends mean something (a table row, a list item,
    a line of code, an HTML block), so it is shown line by line with nothing read as Markdown:
    a C line "# define X" is no heading, and "_R_CHECK_" no emphasis. The lines of wrapped
    prose in a PDF or text file are joined back into paragraphs (:func:`reflow`). Lines
    known to be code (``code``: an HTML ``<pre>``, an .rst literal block, a PDF's lines in a
    typewriter font) are shown in a code block, as written. ``None`` is an answer saved
    before sources knew their kind: shown as it was then.
    """
    if kind in (None, "markdown"):
        return safe_markdown(text)
    lines = _reflowed(text, 0.75, code) if kind in ("pdf", "text") else _marked(text, code)
    return "\n".join(
        fenced("", "\n".join(run)) if preformatted else "  \n".join(map(_indented, run))
        for preformatted, run in _runs(lines)
    )


Lines = list[tuple[bool, str]]  # each line, and whether it is code (set as preformatted)


def _marked(text: str, code: Sequence[tuple[int, int]]) -> Lines:
    """``text``'s lines, each marked whether it starts inside ``code``."""
    out: Lines = []
    at = 0
    for line in text.splitlines(keepends=True):
        out.append((inside(at, code), line.rstrip("\r\n")))
        at += len(line)
    return out


def inside(at: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether offset ``at`` is inside one of ``spans`` (a line starting in code, say)."""
    return any(s <= at < e for s, e in spans)


def _runs(lines: Lines) -> list[tuple[bool, list[str]]]:
    """Consecutive lines of code, and of the rest, in runs: ``(is_code, lines)``."""
    runs: list[tuple[bool, list[str]]] = []
    for preformatted, line in lines:
        if not runs or runs[-1][0] != preformatted:
            runs.append((preformatted, []))
        runs[-1][1].append(line)
    return runs


def fenced(info: str, body: str) -> str:
    """``body`` in a fenced block, under a fence longer than any run of backticks in it.
    Table rows are quoted so too: their lines and cells as written, whatever the format."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def reflow(text: str, fill: float = 0.75, code: Sequence[tuple[int, int]] = ()) -> list[str]:
    """The lines of hard-wrapped text, each run of wrapped prose joined into one line
    (the line ends :func:`wrapped` finds); lines inside ``code`` as they are."""
    return [line for _, line in _reflowed(text, fill, code)]


def _reflowed(text: str, fill: float, code: Sequence[tuple[int, int]]) -> Lines:
    text = "\n".join(text.splitlines())
    joins = wrapped(text, fill, code)
    out: Lines = []
    at = 0
    for line in text.split("\n"):
        if at - 1 in joins:
            out[-1] = (False, out[-1][1].rstrip() + " " + line.strip())
        else:
            out.append((inside(at, code), line))
        at += len(line) + 1
    return out


def wrapped(text: str, fill: float = 0.75, code: Sequence[tuple[int, int]] = ()) -> set[int]:
    """Offsets of the newlines in ``text`` that only wrap a run of prose.

    A line runs on into the next when it reaches ``fill`` of the text's usual full width
    (a short line ends a paragraph, a table row or a line of code), does not end as a lead-in
    or a line of code does (":", ";", "{", "}") and the next line does not start a list item
    or look like code. Text whose lines are all short (a table, a program) keeps every line.
    A line starting inside ``code`` (known to be code: a PDF's monospace lines) is never
    joined, to the next or from the one before, and does not count toward the width.
    """
    lines = text.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    coded = [inside(at, code) for at in starts]
    width = _full_width([line for line, c in zip(lines, coded, strict=True) if not c])
    if not width:
        return set()
    joins: set[int] = set()
    joining = False
    for line, at, c in zip(lines, starts, coded, strict=True):
        if joining and not c and line.strip() and not _STARTS_ITS_OWN.match(line):
            joins.add(at - 1)
        joining = not c and width >= _MIN_WIDTH and len(line.rstrip()) >= fill * width
        joining = joining and not _ENDS_ITS_OWN.search(line) and not _COLUMNS.search(line.strip())
    return joins


def _full_width(lines: list[str]) -> int:
    """The length of a full line of the text: the longest of its lines of three words or
    more (a long URL is one word), the second longest among five or more (one long line of
    code in a text file). Not a percentile: a page of short lines of code sets that (on
    R-intro p. 71 two lines of prose over eleven of code and output).

    PDFium returns some pairs of a page's lines as one (12% of the R manuals' chunks have
    one), which would set the width at twice a line's: a line 1.6 times the passage's median
    line of prose, or 1.6 times a full line of prose below it, is such a pair.
    """
    worded = sorted(len(line.rstrip()) for line in lines if len(line.split()) >= 3)
    if not worded:
        return max((len(line.rstrip()) for line in lines), default=0)
    if len(worded) >= 5:
        worded.pop()
    prose = [w for w in worded if w >= _MIN_WIDTH]
    typical = statistics.median(prose) if prose else 0
    if typical >= _PROSE_WIDTH:
        worded = [w for w in worded if w < 1.6 * typical] or worded
    while len(worded) >= 2 and worded[-2] >= _PROSE_WIDTH and worded[-1] >= 1.6 * worded[-2]:
        worded.pop()
    return worded[-1]


_MIN_WIDTH = 40  # lines narrower than this are not wrapped prose (a table, code, a poem)
_PROSE_WIDTH = 60  # a full line of a page's prose is wider (code and table rows often not)
# A list item, or a line of code: "#include", "{", "// a comment", "x <- f(y);".
_STARTS_ITS_OWN = re.compile(r"^\s*(?:(?:[•◦▪·*\-–−]|\d{1,3}[.)]|[a-z][.)])\s|[#{}]|//|.*[;{]\s*$)")
_ENDS_ITS_OWN = re.compile(r"[:;{}]\s*$")  # a lead-in, or a line of code
# Two spaces between words set a table's columns apart; after a full stop they are a
# typist's sentence spacing ("will be kept.  This option is empty by default.").
_COLUMNS = re.compile(r"(?<![.!?])  ")


def _indented(line: str) -> str:
    """A line shown literally, its indentation kept (Markdown drops leading spaces, not
    no-break ones)."""
    body = line.lstrip(" \t")
    indent = len(line) - len(body)
    return "\u00a0" * indent + plain(body.rstrip())


def _sanitise(prose: str) -> str:
    prose = prose.replace("<", "&lt;")  # raw HTML and <scheme:...> autolinks become text
    prose = _IMAGE.sub(
        lambda m: f"\\[image: {plain(' '.join(m.group(1).split())) or 'untitled'}\\]", prose
    )
    for link in _LINKS:
        prose = link.sub(_link, prose)
    return _REF_DEFINITION.sub(_definition, prose)


def images_as_text(text: str) -> str:
    """Markdown images replaced by ``[image: alt]`` as plain text, for text that is escaped
    afterwards (a quoted sentence), where :func:`safe_markdown` no longer sees an image."""
    return _IMAGE.sub(lambda m: f"[image: {' '.join(m.group(1).split()) or 'untitled'}]", text)


def _link(match: re.Match[str]) -> str:
    text, url = match.group(1), match.group(2)
    return match.group(0) if _safe(url) else f"{text} (link removed)"


def _definition(match: re.Match[str]) -> str:
    return match.group(0) if _safe(match.group(3)) else match.group(0).replace("[", "\\[", 1)


def _safe(url: str) -> bool:
    return url.lower().startswith(SAFE_SCHEMES)


def plain(text: str) -> str:
    """Text shown literally inside Markdown (file names, headings): every special escaped,
    control and format characters (NUL, bidi overrides, zero-width) made visible as ``\u241a``."""
    text = "".join("\u241a" if _invisible(ch) else ch for ch in text)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:&])", r"\\\1", text)


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\t"
