"""A chat as a Markdown file: questions, answers and, under each answer, its numbered sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rag.prompt import source_label


def chat_markdown(messages: list[dict[str, Any]], now: datetime | None = None) -> str:
    """Render ``[{"role", "content", "result"}]`` (``result``: an ``AnswerResult`` or None)."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    lines = [f"# Docent chat — {stamp}", ""]
    for message in messages:
        if message["role"] == "user":
            lines += [f"## Q: {message['content']}", ""]
            continue
        result = message.get("result")
        lines += [message["content"], ""]
        if result is None:
            continue
        if result.sources:
            lines.append("**Sources**")
            lines.append("")
            for n, passage in enumerate(result.sources, start=1):
                quote = " ".join(passage.text.split())
                lines.append(f"{n}. {source_label(passage)} — “{quote[:500]}”")
            lines.append("")
        model = f", model {result.model}" if result.model else ""
        lines += [f"*mode {result.mode}{model}, reranker {result.reranker}*", ""]
    return "\n".join(lines)
