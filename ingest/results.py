"""How each file of an ingest ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["indexed", "already indexed", "replaced", "skipped", "failed"]


@dataclass
class FileResult:
    """How one file ended; ``reason`` says why it failed or was skipped."""

    name: str
    status: Status
    chunks: int = 0
    pages: int = 0
    reason: str = ""


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless one: "1 chunk", "3 pages"."""
    return f"{n:,} {noun}{'s' * (n != 1)}"
