"""Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp server) via LangChain.

Errors become :class:`LLMError` with a message a user can act on, never a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.config import Settings

CHARS_PER_TOKEN_CAP = 8  # English runs about 4 characters a token: twice that is past any cap

# USD per million tokens (input, output) for models whose price is public and stable enough.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}


class LLMError(RuntimeError):
    """The LLM endpoint failed; ``str()`` says what to do about it."""


@dataclass
class Usage:
    """Tokens the endpoint reported (0 when it reports none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Stream:
    """Text deltas of an answer; :attr:`usage` is filled when the stream ends."""

    chunks: Iterator[str]
    usage: Usage = field(default_factory=Usage)
    # Why the model stopped, as the endpoint said ("stop", "length"), when the stream ends;
    # None if it never said: the connection closed before the end of the answer.
    finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self.chunks


class ChatLLM:
    """A chat model behind an OpenAI-compatible API."""

    def __init__(self, settings: Settings, own: bool = False) -> None:
        """``own``: the endpoint is a session's own, not the server's (errors then point the
        user at ⚙️ Settings rather than at the server's variables)."""
        from langchain_openai import ChatOpenAI

        self.model = settings.llm_model
        self.base_url = settings.llm_base_url
        self.max_chars = settings.llm_answer_tokens * CHARS_PER_TOKEN_CAP
        self.endpoint = Endpoint(
            settings.llm_base_url or "the OpenAI API",
            own=own,
            operator=settings.auth == "none",
            secrets=tuple(k for k in [settings.llm_api_key] if k),
        )
        self.chat = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            # Local servers (Ollama, llama.cpp) ignore the key but the client requires one.
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_answer_tokens,
            temperature=0.1,
            stream_usage=True,
            # The client sends the cap as `max_completion_tokens`, which OpenAI reads but
            # llama.cpp's server (and other older OpenAI-compatible ones) ignore: they read
            # `max_tokens`. Without it a local model may write until its context is full.
            extra_body={"max_tokens": settings.llm_answer_tokens}
            if settings.llm_base_url
            else None,
        )

    def stream(self, messages: list[dict[str, str]]) -> Stream:
        """Stream the reply to ``messages``; raises :class:`LLMError` (also mid-stream)."""
        result = Stream(iter(()))

        def deltas() -> Iterator[str]:
            try:
                written = 0
                for chunk in self.chat.stream(messages):
                    meta = getattr(chunk, "usage_metadata", None)
                    if meta:
                        result.usage = Usage(
                            meta.get("input_tokens", 0), meta.get("output_tokens", 0)
                        )
                    reason = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason")
                    result.finish_reason = reason or result.finish_reason
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        yield text
                        written += len(text)
                    # An endpoint that ignores the answer's token cap would write on until
                    # its context is full: stop reading well past the cap, as cut off there.
                    if written > self.max_chars:
                        result.finish_reason = "length"
                        return
            except Exception as exc:  # every client error gets a readable message
                raise LLMError(explain(exc, self.model, self.endpoint)) from exc

        result.chunks = deltas()
        return result

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole reply at once (for short internal calls such as query condensing)."""
        return "".join(self.stream(messages))

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated cost of a call for models with a known public price, else ``None``."""
        price = PRICES.get(self.model) or next(
            (p for name, p in PRICES.items() if self.model.startswith(name + "-")), None
        )
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


@dataclass(frozen=True)
class Endpoint:
    """An LLM endpoint as its errors are explained: to whom, and what they can change."""

    address: str  # the base URL, or "the OpenAI API"
    own: bool = False  # the session's own endpoint (set under ⚙️ Settings)
    operator: bool = True  # the reader runs this Docent (no accounts): its settings are theirs
    secrets: tuple[str, ...] = ()  # never repeated in a message, whatever the endpoint says

    @property
    def where(self) -> str:
        """The endpoint's address, except the server's to signed-in users (it is internal)."""
        return self.address if self.own or self.operator else "the server's LLM endpoint"

    def fix(self, setting: str, what: str) -> str:
        """Who can change ``what`` (the server's ``setting``), as an instruction."""
        if self.own:
            return f"Check the {what} under ⚙️ Settings."
        if self.operator:
            return f"Check {setting}."
        return "Ask your administrator to check the server's LLM settings."

    def hide(self, text: str) -> str:
        """``text`` with the key and anything shaped like a key or token blanked out: an
        endpoint may repeat the key it was sent in its own error message."""
        for secret in self.secrets:
            if len(secret) >= 4:
                text = text.replace(secret, "[key hidden]")
        return _KEYLIKE.sub("[key hidden]", text)


_KEYLIKE = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{6,}|(?<=Bearer )[^\s\"',]+", re.I)


def explain(exc: Exception, model: str, endpoint: Endpoint) -> str:
    """A user-facing sentence for an endpoint error."""
    import openai

    where = endpoint.where
    if isinstance(exc, openai.AuthenticationError):
        return f"The LLM endpoint ({where}) rejected the API key. " + endpoint.fix(
            "OPENAI_API_KEY or DOCENT_LLM_API_KEY", "API key"
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return f"The API key may not use model {model!r} at {where}."
    if isinstance(exc, openai.NotFoundError):
        hint = " (for Ollama, `ollama list` shows the names)" if endpoint.operator else ""
        return f"Model {model!r} was not found at {where}{hint}. " + endpoint.fix(
            "DOCENT_LLM_MODEL", "model name"
        )
    if isinstance(exc, openai.RateLimitError):
        return f"The LLM endpoint ({where}) is rate-limiting requests. Wait a moment and retry."
    if isinstance(exc, openai.APITimeoutError):
        raise_it = " Try again, or raise DOCENT_LLM_TIMEOUT_S." if endpoint.operator else ""
        return f"The LLM endpoint ({where}) did not answer in time.{raise_it or ' Try again.'}"
    if isinstance(exc, openai.APIConnectionError):
        return f"Cannot reach the LLM endpoint at {where}. Is the server running? " + (
            endpoint.fix("DOCENT_LLM_BASE_URL", "endpoint's address")
        )
    if isinstance(exc, openai.APIStatusError):
        return f"The LLM endpoint ({where}) failed with HTTP {exc.status_code}. Try again later."
    if isinstance(exc, openai.APIError):  # an error the endpoint sent mid-stream, in its words
        said = endpoint.hide(" ".join(str(exc.message).split()))[:300]
        return f"The LLM endpoint ({where}) reported an error: {said}"
    # Anything else is a reply the client could not read (not JSON, HTML, no text at all)
    return (
        f"The LLM endpoint ({where}) sent a reply Docent could not read: is it an "
        f"OpenAI-compatible chat endpoint? ({type(exc).__name__})"
    )
