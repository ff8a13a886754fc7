"""The errors a user can act on, and how the command-line tools print them."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from rag.access import AccessDenied
from rag.accounts import AccountError
from rag.database import DatabaseUnavailableError, SchemaTooNewError
from rag.embeddings import EmbeddingModelError
from rag.lock import StoreBusyError
from rag.vectors import EmbeddingMismatchError, StoreUnavailableError

USER_ERRORS: tuple[type[Exception], ...] = (
    ValidationError,
    AccessDenied,
    AccountError,
    StoreBusyError,
    EmbeddingMismatchError,
    StoreUnavailableError,
    EmbeddingModelError,
    SchemaTooNewError,
    DatabaseUnavailableError,
    ValueError,
    OSError,
)


def report(exc: Exception) -> int:
    """Print ``error: ...`` (no traceback) to stderr; returns the exit code 2."""
    message = invalid_settings(exc) if isinstance(exc, ValidationError) else str(exc)
    print(f"error: {message}", file=sys.stderr)
    return 2


def invalid_settings(exc: ValidationError) -> str:
    """What is wrong with the settings, naming each variable (``DOCENT_TOP_K: Input should
    be a valid integer``) but never its value, which may be a key or a password."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if field and exc.title == "Settings":
            parts.append(f"{field if field.isupper() else 'DOCENT_' + field.upper()}: {message}")
        else:
            parts.append(message)
    return "; ".join(parts)
