"""The one error ingestion raises for a bad file: it names the file and says what is wrong."""

from __future__ import annotations


class IngestError(ValueError):
    """A file that cannot be indexed; ``str()`` reads ``"<name>: <reason>"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason
