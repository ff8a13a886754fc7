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
    if isinstance(exc, ValidationError):
        message = "; ".join(str(e["msg"]) for e in exc.errors())
    else:
        message = str(exc)
    print(f"error: {message}", file=sys.stderr)
    return 2
