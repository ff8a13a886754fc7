"""Files to text blocks, keeping pages and headings; every failure is an :class:`IngestError`."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import Any

from ingest.document import Block, LoadedDocument, or_headings
from ingest.docx import load_docx
from ingest.errors import IngestError
from ingest.myst import as_commonmark
from ingest.pdf import load_pdf
from ingest.rst import load_rst
from ingest.textdecode import decode_text
from rag.chunks import clip_spans
from rag.markdown import indented_blocks

SUPPORTED = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
}
DEFAULT_MAX_EXPANDED = 256 * 2**20  # Settings.max_expanded_mb


def check_name(name: str) -> None:
    """Refuse names that could escape a folder or fool a terminal or the UI: path separators,
    control characters (NUL...), and invisible format characters (bidi overrides that reverse
    what is shown, zero-width spaces, byte-order marks).

    A relative path of plain folder names (``v1/README.md``, how the CLI tells apart files of
    one name in several folders) is a name; an absolute one, ``..``, or a backslash is not."""
    if not name or name in {".", ".."}:
        raise IngestError(repr(name), "the file has no name")
    if "\\" in name or any(part in {"", ".", ".."} for part in name.split("/")):
        raise IngestError(repr(name), "the file name contains a path separator")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise IngestError(repr(name), "the file name contains control characters")
    if any(unicodedata.category(ch) == "Cf" for ch in name):
        raise IngestError(
            repr(name),
            "the file name contains invisible characters (bidi overrides, zero-width spaces "
            "or a byte-order mark) that can disguise it",
        )


def kind_of(name: str) -> str:
    """The loader kind for a file name, or an ``IngestError`` for unsupported types."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED:
        listed = ", ".join(sorted(SUPPORTED))
        raise IngestError(
            name, f"unsupported file type {suffix or '(none)'!r}; Docent reads {listed}"
        )
    return SUPPORTED[suffix]


def load_bytes(
    name: str, data: bytes, max_bytes: int, max_expanded: int = DEFAULT_MAX_EXPANDED
) -> LoadedDocument:
    """Read one file's bytes into blocks.

    Args:
        name: the file's name (no folders); its extension picks the loader.
        data: the file's content.
        max_bytes: size limit (``Settings.max_file_bytes``).
        max_expanded: how far an archive format (DOCX) may expand (``max_expanded_mb``).

    Raises:
        IngestError: the file is empty, too big, unsupported, damaged or has no text.
    """
    check_name(name)
    kind = kind_of(name)
    if not data:
        raise IngestError(name, "the file is empty")
    if len(data) > max_bytes:
        raise IngestError(
            name,
            f"the file is {len(data) / 2**20:.1f} MB, over the limit of "
            f"{max_bytes / 2**20:.0f} MB (DOCENT_MAX_FILE_MB)",
        )
    doc = load_docx(name, data, max_expanded) if kind == "docx" else _LOADERS[kind](name, data)
    if not any(b.text.strip() for b in doc.blocks):
        raise IngestError(name, "the file contains no readable text")
    return doc


# -- Markdown, text, HTML, CSV -----------------------------------------------------------------
def _load_markdown(name: str, data: bytes) -> LoadedDocument:
    """Blocks between headings (ATX ``#`` and setext ``===``; never inside code), by
    markdown-it's parse of the text: each block keeps its source lines as written."""
    from markdown_it import MarkdownIt

    text = decode_text(name, data)
    front, text = front_matter(text)
    text = as_commonmark(text)  # MyST's notes are prose, not code blocks
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[Block] = [Block(front)] if front else []
    path: list[str] = []
    start = 0

    def flush(end: int) -> None:
        body = "\n".join(lines[start:end]).strip("\n")
        if body.strip():  # an indented code block is code (a fenced one is a sentence of code)
            blocks.append(Block(body, None, list(path), indented_blocks(body)))

    titles: list[str] = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None:
            continue
        flush(token.map[0])
        level = int(token.tag[1])
        titles.append(tokens[i + 1].content.strip())
        path = path[: level - 1] + [titles[-1]]
        start = token.map[1]
    flush(len(lines))
    return LoadedDocument(name, "markdown", 0, or_headings(blocks, titles))


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def front_matter(text: str) -> tuple[str, str]:
    """``(front matter, the rest)`` of a Markdown text that opens with a YAML block between
    ``---`` lines (Jekyll, Hugo, Obsidian, pandoc): its ``key: value`` lines are kept as text
    of their own ("author: Jane Doe" answers "who wrote it?"). Read as Markdown, the block
    is a rule and a heading, and its fields are lost."""
    match = _FRONT_MATTER.match(text)
    if not match or not re.search(r"^[\w-]+:", match.group(1), re.M):
        return "", text
    return match.group(1).strip(), text[match.end() :]


def _load_text(name: str, data: bytes) -> LoadedDocument:
    return LoadedDocument(name, "text", 0, [Block(decode_text(name, data))])


_HEADING_TAG = re.compile(r"^h([1-6])$")
_BLOCK_TAGS = [
    "p",
    "div",
    "li",
    "td",
    "th",
    "tr",
    "pre",
    "blockquote",
    "section",
    "article",
    "dt",
    "dd",
    "figcaption",
    "caption",
    "main",
    "aside",
    "header",
    "footer",
    "body",
    "ul",
    "ol",
    "table",
    "form",
    "nav",
    "address",
    "dl",
    "details",
    "summary",
    "figure",
    "fieldset",
    "legend",
    "button",
    "option",
]
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}


def _load_html(name: str, data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(name, data), "html.parser")
    line_numbers = soup.find_all(class_=["linenos", "lineno", "linenodiv"])  # Pygments'
    for tag in soup.find_all(_SKIP_TAGS) + _permalinks(soup) + line_numbers:
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")  # a line break separates the words on either side
    for title in soup.find_all(class_="admonition-title"):  # Sphinx's "Note", as "Note:"
        if (words := title.get_text(strip=True)) and not words.endswith(":"):
            title.append(":")
    chrome = _page_chrome(soup)
    if sum(len(t.get_text(strip=True)) for t in chrome) < len(soup.get_text(strip=True)):
        for tag in chrome:  # unless it is all there is
            tag.decompose()
    blocks: list[Block] = []
    path: list[str] = []
    parts: list[tuple[str, str, bool]] = []  # (separator, text, preformatted)
    last_block: object = None
    space = False  # whitespace since the last text: words of inline tags are not glued
    for node, pre in _html_texts(soup):
        heading = node.find_parent(_HEADING_TAG)
        raw = pre.get_text() if pre is not None else str(node)
        text = _pre_lines(raw) if pre is not None else " ".join(raw.split())
        if heading is not None:
            if parts:
                blocks.append(_html_block(parts, path))
            parts = []
            level = int(heading.name[1])
            title = " ".join(heading.get_text(" ").split())
            path = path[: level - 1] + [title]
            continue
        if text:
            block = pre if pre is not None else node.find_parent(_BLOCK_TAGS)
            glued = not (space or raw[:1].isspace())
            separator = "\n" if block is not last_block else "" if glued else " "
            parts.append((separator if parts else "", text, pre is not None))
            last_block = block
        space = not text or raw[-1:].isspace()
    if parts:
        blocks.append(_html_block(parts, path))
    # a page of headings alone: read them again only then, not for every page
    titles = [] if blocks else [" ".join(h.get_text(" ").split()) for h in soup(_HEADING_TAG)]
    return LoadedDocument(name, "html", 0, or_headings(blocks, titles))


def _html_texts(soup: Any) -> Iterator[tuple[Any, Any]]:
    """The page's text nodes in order, each with its ``<pre>`` (or ``None``); a ``<pre>``
    comes once, as a whole: highlighted code (Sphinx, MkDocs: Pygments) is a ``<span>`` per
    token, with the line ends between them in text nodes of their own."""
    from bs4 import NavigableString

    done: object = None
    for node in soup.find_all(string=True):
        if not isinstance(node, NavigableString) or type(node).__name__ in {"Comment", "Doctype"}:
            continue
        pres = node.find_parents("pre")
        pre = pres[-1] if pres else None  # the outermost: a <pre> inside one is its text
        if pre is None or pre is not done:
            yield node, pre
        done = pre if pre is not None else done


def _permalinks(soup: Any) -> list[Any]:
    """The "¶" links a documentation generator puts after each heading and definition
    (Sphinx, MkDocs; Docusaurus's is a zero-width space): in a heading path,
    "4.1. if Statements ¶"."""
    return [
        a
        for a in soup.find_all("a", href=True)
        if a["href"].startswith("#")
        and ("headerlink" in a.get("class", []) or a.get_text().strip(" \n\t\u200b") in _MARKS)
    ]


_MARKS = {"", "¶", "#", "§", "🔗"}  # what such a link shows


def _pre_lines(text: str) -> str:
    """Preformatted text with its lines (and their indentation) kept, blank ones dropped."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _page_chrome(soup: Any) -> list[Any]:
    """The site around the page's content: navigation, and a header or footer of the page
    (a tag, or a ``div`` of class or id "header" or "footer", as Sphinx and Texinfo write
    them; not one of an article or section, and not a header holding the page's title),
    and Sphinx's tables of contents (quoted, they answered with "Lambda Expressions 4.8.7.").
    Indexed, "Home | About us | Login" became a passage, a footer's "Copyright 2024" was
    quoted as part of the section before it, and each GNU manual's page began with its
    "Next: Simple Example, Up: Using libffi [Index]"."""
    chrome = soup.find_all("nav") + soup.find_all(
        attrs={"role": ["navigation", "banner", "contentinfo"]}
    )
    chrome += soup.find_all(class_="toctree-wrapper")  # Sphinx's table of contents
    named = soup.find_all(class_=["header", "footer"]) + soup.find_all(id=["header", "footer"])
    for tag in soup.find_all(["header", "footer"]) + named:
        inside = tag.find_parent(["article", "main", "section"]) is not None
        header = tag.name == "header" or "header" in [tag.get("id"), *tag.get("class", [])]
        titled = header and tag.find(_HEADING_TAG) is not None
        if not inside and not titled:
            chrome.append(tag)
    ids = {id(t) for t in chrome}
    return [t for t in chrome if not any(id(p) in ids for p in t.parents)]  # outermost only


def _html_block(parts: list[tuple[str, str, bool]], path: list[str]) -> Block:
    """A block of ``parts`` (separator, text, preformatted), with where its ``<pre>`` text
    is: a quote shows those lines as code, which the text alone no longer tells."""
    text = ""
    code: list[tuple[int, int]] = []
    for separator, part, pre in parts:
        text += separator
        if pre and code and code[-1][1] == len(text) - len(separator):
            code[-1] = (code[-1][0], len(text) + len(part))  # the same <pre> runs on
        elif pre:
            code.append((len(text), len(text) + len(part)))
        text += part
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    return Block(text, None, list(path), clip_spans(code, lead, len(text)))


def _load_csv(name: str, data: bytes) -> LoadedDocument:
    text = decode_text(name, data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise IngestError(name, f"the file is not valid CSV ({exc})") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise IngestError(name, "the CSV has a header but no data rows")
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    blocks = [
        Block(
            "\n".join(f"{h}: {v.strip()}" for h, v in zip(header, row, strict=False) if v.strip()),
            None,
            [f"row {n}"],
        )
        for n, row in enumerate(rows[1:], start=2)
    ]
    return LoadedDocument(name, "csv", 0, blocks)


_LOADERS: dict[str, Callable[[str, bytes], LoadedDocument]] = {
    "pdf": load_pdf,
    "markdown": _load_markdown,
    "text": _load_text,
    "rst": load_rst,
    "html": _load_html,
    "csv": _load_csv,
}
