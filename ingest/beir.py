"""A BEIR corpus (``corpus.jsonl``) as documents, so judged IR collections can be measured.

Each line (``{"_id", "title", "text"}``) becomes one Markdown document named ``<_id>.md``, its
title as its heading: ``python -m rag eval --qrels`` matches a retrieved document to the
judgments by that name, and the heading is what the second pass's heading feature reads, as
for every other titled document. The development sets are indexed the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingest.pipeline import Source


def beir_markdown(title: str, text: str) -> str:
    """One document's Markdown: ``# title``, a blank line, the text (no heading if untitled)."""
    title = " ".join(title.split())
    return f"# {title}\n\n{text}\n" if title else f"{text}\n"


def read_corpus(path: Path) -> list[tuple[str, str, str]]:
    """``(id, title, text)`` of every line, all read and checked before anything is stored.

    Raises:
        ValueError: naming the file and line, for a line that is not a BEIR document.
    """
    rows: list[tuple[str, str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, title, text = str(row["_id"]), row.get("title") or "", row.get("text")
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(
                    f"{path}: line {number} is not a BEIR document "
                    f'({{"_id": ..., "title": ..., "text": ...}}): {exc}'
                ) from None
            if not isinstance(text, str) or not isinstance(title, str) or not doc_id.strip():
                raise ValueError(f"{path}: line {number}: _id, title and text must be text")
            rows.append((doc_id, title, text))
    if not rows:
        raise ValueError(f"{path}: no documents")
    return rows


def beir_sources(rows: list[tuple[str, str, str]]) -> Iterator[Source]:
    """The documents of :func:`read_corpus` as sources to ingest."""
    for doc_id, title, text in rows:
        data = beir_markdown(title, text).encode()
        yield Source.from_bytes(f"{doc_id}.md", data, distinct=True)  # a copy is still judged
