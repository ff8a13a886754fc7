"""A tiny OpenAI-compatible chat server for tests: real HTTP on loopback, scripted replies.

Each request to ``/v1/chat/completions`` takes the next scripted :class:`Reply` (the last one
repeats) and is recorded in ``requests`` so tests can read exactly what the client sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tests.http_stub import JSONHandler, LoopbackHTTP


@dataclass
class Reply:
    """What the stub answers: text (streamed in pieces) or an HTTP error."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 123
    completion_tokens: int = 45
    finish: str | None = "stop"  # None: the stream ends without a finish reason or [DONE]
    error_event: str = ""  # sent as an SSE error event after the text, in these words


class LLMStub(LoopbackHTTP):
    """``with LLMStub([Reply("hi [1]")]) as stub: stub.base_url``."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # per request, as the server received them
        stub = self

        class Handler(JSONHandler):
            def do_POST(self) -> None:
                body = self.read_json()
                stub.requests.append(body)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._error(reply.status)
                elif body.get("stream"):
                    self._stream(body, reply)
                else:
                    self.send_json(200, _completion(body, reply))

            def _error(self, status: int) -> None:
                messages = {
                    401: "Incorrect API key provided",
                    404: "The model does not exist",
                    429: "Rate limit reached",
                    500: "Internal server error",
                }
                self.send_json(
                    status,
                    {
                        "error": {
                            "message": messages.get(status, "error"),
                            "type": "stub_error",
                            "code": str(status),
                        }
                    },
                )

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = reply.content.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                for piece in pieces:
                    self._event(_chunk(body, {"content": piece}, None))
                if reply.error_event:
                    self._event({"error": {"message": reply.error_event, "type": "stub"}})
                    return
                if reply.finish is None:  # the connection drops mid-answer
                    return
                self._event(_chunk(body, {}, reply.finish))
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = _chunk(body, {}, None)
                    usage["choices"] = []
                    usage["usage"] = _usage(reply)
                    self._event(usage)
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        super().__init__(Handler)


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": reply.content},
            }
        ],
        "usage": _usage(reply),
    }
