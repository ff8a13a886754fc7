"""An OpenAI-compatible ``/v1/embeddings`` server for tests: real HTTP on loopback, real vectors.

The vectors come from the packaged all-MiniLM-L6-v2 (scaled, so the client must normalise
them), as a TEI or vLLM server running that model would return them. ``fail_first`` requests
get a 429 with ``Retry-After: 0`` first; every request's inputs are recorded.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rag.embeddings import Embedder


class EmbeddingsStub:
    """``with EmbeddingsStub(embedder) as stub: stub.base_url``."""

    def __init__(self, embedder: Embedder, model: str = "minilm", fail_first: int = 0) -> None:
        self.inputs: list[list[str]] = []
        self.authorization: list[str | None] = []
        self.fail_first = fail_first
        self.failures = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.authorization.append(self.headers.get("Authorization"))
                if self.path.rstrip("/") != "/v1/embeddings":
                    return self._send(404, {"error": {"message": "not found"}})
                if stub.failures < stub.fail_first:
                    stub.failures += 1
                    return self._send(429, {"error": {"message": "Rate limit reached"}})
                if body.get("model") != model:
                    return self._send(404, {"error": {"message": "The model does not exist"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                stub.inputs.append(texts)
                vectors = embedder.encode(texts) * 3.0  # not unit length, on purpose
                data = [
                    {"object": "embedding", "index": i, "embedding": v.tolist()}
                    for i, v in reversed(list(enumerate(vectors)))  # any order: index decides
                ]
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self._send(200, {"object": "list", "data": data, "model": model, "usage": usage})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The ``/v1`` base URL clients are given."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> EmbeddingsStub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
