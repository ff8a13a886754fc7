"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (TEI, vLLM, Ollama, OpenAI).

For libraries too big for a laptop's CPU: the model runs on a server, Docent sends batches. The
openai client retries connection errors, 429 (honouring ``Retry-After``) and 5xx with backoff.
Sentence vectors (the second pass and attribution read them) cost extra calls: each sentence
is embedded on its own, batched with the others.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.embeddings import Embedder, EmbeddingModelError, Fingerprint
from rag.tokens import count_tokens


class RemoteEmbedder(Embedder):
    """An :class:`Embedder` whose model is behind an HTTP endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 64,
        max_tokens: int = 256,
        timeout_s: float = 60.0,
        max_retries: int = 5,
    ) -> None:
        """Connect, and ask for one vector to learn the dimension.

        Args:
            base_url: e.g. ``http://127.0.0.1:8080/v1``.
            model: the model name the endpoint serves.
            api_key: sent as a Bearer token (local servers ignore it).
            batch_size: texts per request.
            max_tokens: the model's input limit; chunks are cut to fit it.
            timeout_s: per request.
            max_retries: for connection errors, rate limits and server errors.

        Raises:
            EmbeddingModelError: the endpoint cannot be reached or returns no usable vector.
        """
        from openai import OpenAI

        self.name = model
        self.batch_size = batch_size
        self.backend = "endpoint"
        self.max_tokens = max_tokens
        self.base_url = base_url
        self._client = OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )
        dimension = int(self._request(["dimension probe"]).shape[1])
        # The endpoint's model name is what makes vectors comparable; "endpoint:" keeps it
        # apart from a local model of the same name, whose vectors may differ.
        self.fingerprint = Fingerprint(
            model=f"endpoint:{model}", dimension=dimension, normalized=True
        )

    def _request(self, texts: list[str]) -> np.ndarray:
        from openai import OpenAIError

        try:
            response = self._client.embeddings.create(model=self.name, input=texts)
        except OpenAIError as exc:
            raise EmbeddingModelError(
                f"the embeddings endpoint {self.base_url} (model {self.name!r}) failed: {exc}"
            ) from exc
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise EmbeddingModelError(
                f"the embeddings endpoint {self.base_url} returned {len(rows)} vectors "
                f"for {len(texts)} texts"
            )
        try:
            vectors = np.vstack([_pooled(r.embedding) for r in rows])
        except ValueError as exc:
            raise EmbeddingModelError(
                f"the embeddings endpoint {self.base_url} returned vectors of different sizes"
            ) from exc
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)  # whatever the server does: unit length

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, ``batch_size`` texts a request."""
        if not texts:
            return np.zeros((0, self.fingerprint.dimension), dtype=np.float32)
        size = batch_size or self.batch_size
        # Empty strings are refused by some servers: a space embeds as "nothing".
        safe = [t if t.strip() else " " for t in texts]
        return np.vstack([self._request(safe[i : i + size]) for i in range(0, len(safe), size)])

    def encode_with_sentences(
        self,
        texts: list[str],
        spans: list[list[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and one vector per sentence span from extra (batched) calls;
        ``progress`` hears of the texts once their passage vectors are in."""
        passages = self.encode(texts)
        if progress is not None:
            progress(len(texts))
        sentences = [
            text[s:e] for text, text_spans in zip(texts, spans, strict=True) for s, e in text_spans
        ]
        flat = self.encode(sentences).astype(np.float16)
        out, at = [], 0
        for text_spans in spans:
            out.append(flat[at : at + len(text_spans)].reshape(len(text_spans), -1))
            at += len(text_spans)
        return passages, out

    def count_tokens(self, text: str) -> int:
        """An estimate of the model's tokens: tiktoken's count (the server's tokenizer is
        unknown here), so ``max_tokens`` should keep some margin."""
        return count_tokens(text)


def _pooled(embedding: object) -> np.ndarray:
    """One vector for one input. llama.cpp's server, for a model without a pooling layer,
    returns a vector per token instead: their mean, as sentence-transformers pools."""
    array = np.asarray(embedding, dtype=np.float32)
    return array.mean(axis=0) if array.ndim == 2 else array
