"""Wiring shared by the CLI, the app and the tests: settings -> offline assets, model, library."""

from __future__ import annotations

from rag.assets import prepare
from rag.config import Settings
from rag.embeddings import Embedder
from rag.library import Library


def open_library(settings: Settings) -> tuple[Library, Embedder]:
    """Seed offline assets under the data dir, load the embedder once, open the library."""
    embedder = prepare(settings)
    return Library(settings, embedder.fingerprint), embedder
