"""Make untrusted text (model output, document text, file names) safe to show as Markdown.

Nothing a document or a model wrote may make a reader's browser fetch something or run
something: images become their alt text (a remote image is a tracking or exfiltration channel),
links are kept only for ``http(s)`` and ``mailto``, raw HTML is shown as text, and strings that
are not Markdown at all (file names, headings) are escaped completely. Code is left as written.
"""

from __future__ import annotations

import re
import unicodedata

from rag.markdown import map_prose

SAFE_SCHEMES = ("http://", "https://", "mailto:")

_IMAGE = re.compile(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])?")
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


def safe_markdown(text: str) -> str:
    """Markdown without images, without raw HTML and with only http(s)/mailto links."""
    return map_prose(text, _sanitise)


def _sanitise(prose: str) -> str:
    prose = prose.replace("<", "&lt;")  # raw HTML and <scheme:...> autolinks become text
    prose = _IMAGE.sub(lambda m: f"\\[image: {plain(m.group(1)) or 'untitled'}\\]", prose)
    for link in _LINKS:
        prose = link.sub(_link, prose)
    return _REF_DEFINITION.sub(_definition, prose)


def images_as_text(text: str) -> str:
    """Markdown images replaced by ``[image: alt]`` as plain text, for text that is escaped
    afterwards (a quoted sentence), where :func:`safe_markdown` no longer sees an image."""
    return _IMAGE.sub(lambda m: f"[image: {m.group(1).strip() or 'untitled'}]", text)


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
