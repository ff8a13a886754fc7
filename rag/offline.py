"""Keep every library off the network: Docent's models and tokenizer files come from packages.

Imported first by ``rag/__init__``, because Hugging Face and Chroma read these variables when
they are imported, not when they are used.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    """Set the variables that stop model hubs and telemetry from being contacted."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def set_tiktoken_cache(path: str) -> None:
    """Point tiktoken at a seeded cache folder (read at its first ``get_encoding``)."""
    os.environ["TIKTOKEN_CACHE_DIR"] = path
