"""Any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, llama.cpp server) via LangChain.

Errors become :class:`LLMError` with a message a user can act on, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.config import Settings

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

    def __iter__(self) -> Iterator[str]:
        return self.chunks


class ChatLLM:
    """A chat model behind an OpenAI-compatible API."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        self.model = settings.llm_model
        self.base_url = settings.llm_base_url
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
                for chunk in self.chat.stream(messages):
                    meta = getattr(chunk, "usage_metadata", None)
                    if meta:
                        result.usage = Usage(
                            meta.get("input_tokens", 0), meta.get("output_tokens", 0)
                        )
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        yield text
            except Exception as exc:  # every client error gets a readable message
                raise LLMError(explain(exc, self.model, self.base_url)) from exc

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


def explain(exc: Exception, model: str, base_url: str | None) -> str:
    """A user-facing sentence for an endpoint error."""
    import openai

    where = base_url or "the OpenAI API"
    if isinstance(exc, openai.AuthenticationError):
        return (
            f"The LLM endpoint ({where}) rejected the API key. Set a valid key in "
            "OPENAI_API_KEY or DOCENT_LLM_API_KEY."
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return f"The API key may not use model {model!r} at {where}."
    if isinstance(exc, openai.NotFoundError):
        return (
            f"Model {model!r} was not found at {where}. Check DOCENT_LLM_MODEL "
            "(for Ollama, `ollama list` shows the names)."
        )
    if isinstance(exc, openai.RateLimitError):
        return f"The LLM endpoint ({where}) is rate-limiting requests. Wait a moment and retry."
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"The LLM endpoint ({where}) did not answer in time. Try again, or raise "
            "DOCENT_LLM_TIMEOUT_S."
        )
    if isinstance(exc, openai.APIConnectionError):
        return (
            f"Cannot reach the LLM endpoint at {where}. Is the server running? "
            "Check DOCENT_LLM_BASE_URL."
        )
    if isinstance(exc, openai.APIStatusError):
        return f"The LLM endpoint ({where}) failed with HTTP {exc.status_code}. Try again later."
    return f"The LLM call failed: {type(exc).__name__}: {exc}"
