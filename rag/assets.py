"""Offline assets: seed the tiktoken cache and check the packaged embedding model loads.

``python -m rag.assets`` is what ``make`` runs after installing, so a broken install shows up
before the app starts rather than at the first upload.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from rag.config import Settings, get_settings
from rag.embeddings import Embedder, EmbeddingModelError, get_embedder
from rag.errors import invalid_settings
from rag.tokens import count_tokens, use_cache


def prepare(settings: Settings) -> Embedder:
    """Seed ``<data dir>/cache/tiktoken`` and load the configured embedder (once per process;
    the OpenVINO backend exports the model once per machine, into ``Settings.model_cache_dir``)."""
    use_cache(settings.data_dir / "cache" / "tiktoken")
    if settings.embeddings_base_url:
        return _remote(settings)
    return get_embedder(
        settings.embedding_model,
        settings.embedding_batch_size,
        settings.embedding_backend,
        settings.model_cache_dir / "openvino",
    )


def _remote(settings: Settings) -> Embedder:
    from rag.remote_embeddings import RemoteEmbedder

    if not settings.embeddings_model:
        raise EmbeddingModelError(
            "DOCENT_EMBEDDINGS_BASE_URL is set but DOCENT_EMBEDDINGS_MODEL is not: "
            "name the model the endpoint serves"
        )
    return RemoteEmbedder(
        settings.embeddings_base_url or "",
        settings.embeddings_model,
        settings.embeddings_api_key,
        max_tokens=settings.embeddings_max_tokens,
    )


def main() -> int:
    """Prepare the assets and print what is ready (``make install`` and ``make run`` do this
    first, so settings that are not valid stop them here, named, with exit code 2)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"error: Docent's settings are not valid: {invalid_settings(exc)}", file=sys.stderr)
        return 2
    embedder = prepare(settings)
    count_tokens("tiktoken works offline")
    print(
        f"offline assets ready in {settings.data_dir}: tiktoken cl100k_base, "
        f"embedder {embedder.fingerprint.describe()} on {embedder.backend}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
