"""Make untrusted text (model output, document text, file names) safe to show as Markdown.

Streamlit shows raw HTML as text unless ``unsafe_allow_html`` is set (Docent never sets it for
these), so ``<`` stays as it is (R code is full of ``<-``). Images are turned into plain links:
a remote image would be fetched by the reader's browser, a tracking or exfiltration channel.
"""

from __future__ import annotations

import re

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
_REF_IMAGE = re.compile(r"!\[([^\]]*)\]\[([^\]]*)\]")


def safe_markdown(text: str) -> str:
    """Markdown without images (each becomes a ``[image: alt](url)`` link, not loaded)."""
    text = _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}]({m.group(2)})", text)
    text = _REF_IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}][{m.group(2)}]", text)
    return text.replace("![", "!\\[")


def plain(text: str) -> str:
    """Text shown literally inside Markdown (file names, headings): every special escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)
