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
