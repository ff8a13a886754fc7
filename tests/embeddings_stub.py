"""An OpenAI-compatible ``/v1/embeddings`` server for tests: real HTTP on loopback, real vectors.

The vectors come from the packaged all-MiniLM-L6-v2 (scaled, so the client must normalise
them), as a TEI or vLLM server running that model would return them. ``fail_first`` requests
get a 429 with ``Retry-After: 0`` first; every request's inputs are recorded.
"""

from __future__ import annotations

from rag.embeddings import Embedder
from tests.http_stub import JSONHandler, LoopbackHTTP


class EmbeddingsStub(LoopbackHTTP):
    """``with EmbeddingsStub(embedder) as stub: stub.base_url``."""

    def __init__(self, embedder: Embedder, model: str = "minilm", fail_first: int = 0) -> None:
        self.inputs: list[list[str]] = []
        self.authorization: list[str | None] = []
        self.fail_first = fail_first
        self.failures = 0
        stub = self

        class Handler(JSONHandler):
            def do_POST(self) -> None:
                body = self.read_json()
                stub.authorization.append(self.headers.get("Authorization"))
                if self.path.rstrip("/") != "/v1/embeddings":
                    return self.send_json(404, {"error": {"message": "not found"}})
                if stub.failures < stub.fail_first:
                    stub.failures += 1
                    limited = {"error": {"message": "Rate limit reached"}}
                    return self.send_json(429, limited, {"Retry-After": "0"})
                if body.get("model") != model:
                    return self.send_json(404, {"error": {"message": "The model does not exist"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                stub.inputs.append(texts)
                vectors = embedder.encode(texts) * 3.0  # not unit length, on purpose
                data = [
                    {"object": "embedding", "index": i, "embedding": v.tolist()}
                    for i, v in reversed(list(enumerate(vectors)))  # any order: index decides
                ]
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self.send_json(
                    200, {"object": "list", "data": data, "model": model, "usage": usage}
                )

        super().__init__(Handler)
