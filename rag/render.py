"""Make untrusted text (model output, document text, file names) safe to show as Markdown.

Nothing a document or a model wrote may make a reader's browser fetch something or run
something: images become their alt text (a remote image is a tracking or exfiltration channel),
links are kept only for ``http(s)`` and ``mailto``, raw HTML is shown as text, and strings that
are not Markdown at all (file names, headings) are escaped completely. Code is left as written.
"""

from __future__ import annotations

import re
import unicodedata

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
