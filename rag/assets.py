"""Offline assets: seed the tiktoken cache and check the packaged embedding model loads.

``python -m rag.assets`` is what ``make`` runs after installing, so a broken install shows up
before the app starts rather than at the first upload.
"""

from __future__ import annotations

from rag.config import Settings, get_settings
from rag.embeddings import Embedder, EmbeddingModelError, get_embedder
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


def main() -> None:
    """Prepare the assets and print what is ready."""
    settings = get_settings()
    embedder = prepare(settings)
    count_tokens("tiktoken works offline")
    print(
        f"offline assets ready in {settings.data_dir}: tiktoken cl100k_base, "
        f"embedder {embedder.fingerprint.describe()} on {embedder.backend}"
    )


if __name__ == "__main__":
    main()
