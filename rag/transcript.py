"""A chat as a Markdown file: questions, answers and, under each answer, its numbered sources.

The file is made safe for any Markdown viewer: questions and answers pass through
:func:`~rag.render.safe_markdown` (no images, no raw HTML, only http(s)/mailto links) and
everything taken from documents (file names, headings, quoted text) is escaped as plain text.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from rag.attribution import ADDED, annotate
from rag.render import plain, safe_markdown


def chat_markdown(
    messages: list[dict[str, Any]], title: str = "Docent chat", now: datetime | None = None
) -> str:
    """Render saved messages: ``{"role", "content", "answer"}`` (``answer``: the answer's
    ``to_dict()`` form, or None for questions), under ``title`` and the time ``now`` (the
    chat's last message; default: the present)."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {plain(title)} — {stamp}", ""]
    for message in messages:
        if message["role"] == "user":
            lines += [f"## Q: {safe_markdown(' '.join(message['content'].split()))}", ""]
            continue
        answer = message.get("answer")
        if not answer:
            lines += [safe_markdown(message["content"]), ""]
            continue
        lines += [safe_markdown(annotate(answer["answer"], answer.get("support") or [])), ""]
        if answer.get("sources"):
            lines += ["**Sources**", ""]
            for source in answer["sources"]:
                quote = " ".join(source["text"].split())[:500]
                label = plain(source_label(source))
                lines.append(f"{source['number']}. {label} — “{plain(quote)}”")
            lines.append("")
        if any(s["added"] for s in answer.get("support") or []):
            lines += [f"{ADDED} a citation Docent added: the model cited nothing there.", ""]
        model = f", model {plain(answer['model'])}" if answer.get("model") else ""
        lines += [f"*mode {answer['mode']}{model}, reranker {plain(answer['reranker'])}*", ""]
    return "\n".join(lines)


def source_label(source: dict[str, Any]) -> str:
    """``file, p. N, Section`` for a source in its JSON form (as ``Passage.label``)."""
    parts = [str(source["source"])]
    if source.get("page") is not None:
        parts.append(f"p. {source['page']}")
    if source.get("headings"):
        parts.append(str(source["headings"][-1]))
    return ", ".join(parts)


OPENING_CHARS = 50  # how much of a passage tells it apart from one with the same label


def source_labels(sources: list[dict[str, Any]]) -> list[str]:
    """Each source's :func:`source_label`; sources that share one (several passages of one web
    page or section) also show how their text begins, so they can be told apart unopened."""
    labels = [source_label(source) for source in sources]
    shared = {label for label, count in Counter(labels).items() if count > 1}
    return [
        f"{label} — “{_opening(source['text'])}”" if label in shared else label
        for label, source in zip(labels, sources, strict=True)
    ]


def _opening(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= OPENING_CHARS else words[:OPENING_CHARS].rstrip() + "…"
