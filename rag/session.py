"""What one session of the app may choose for itself, applied to the operator's settings.

The operator's LLM endpoint and key are the operator's: a session may pick one of the models
the operator offers there (``DOCENT_LLM_MODELS``), or, where allowed, send its questions to an
endpoint of its own with its own key. The operator's key never goes to a URL the operator did
not configure, and no model name the operator did not list reaches the operator's endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.config import RerankerName, Settings


class SessionChoiceError(ValueError):
    """A session asked for something the operator does not offer."""


@dataclass
class SessionChoices:
    """A session's own choices; ``None`` (or empty) keeps the operator's setting."""

    top_k: int | None = None
    hybrid: bool | None = None
    reranker: RerankerName | None = None
    llm_model: str | None = None  # one of Settings.allowed_llm_models
    own_base_url: str | None = None  # the session's own endpoint...
    own_api_key: str | None = None  # ...with the session's own key (or none)
    own_model: str | None = None  # ...and the model to ask there


def session_settings(base: Settings, collection: str, choices: SessionChoices) -> Settings:
    """The settings one session's questions run with.

    Raises:
        SessionChoiceError: an own endpoint where the operator allows none, or a model the
            operator does not offer.
    """
    update: dict[str, object] = {"collection": collection}
    for name in ("top_k", "hybrid", "reranker"):
        value = getattr(choices, name)
        if value is not None:
            update[name] = value
    own = (choices.own_base_url or "").strip()
    if own:
        if not base.user_endpoints_allowed:
            raise SessionChoiceError("this Docent does not allow sessions their own LLM endpoint")
        if not own.lower().startswith(("http://", "https://")):
            raise SessionChoiceError(f"{own!r} is not an http(s) URL")
        update |= {
            "llm_base_url": own,
            "llm_api_key": (choices.own_api_key or "").strip() or None,  # never the operator's
            "llm_model": (choices.own_model or "").strip() or base.llm_model,
        }
    elif choices.llm_model:
        if choices.llm_model not in base.allowed_llm_models:
            raise SessionChoiceError(f"model {choices.llm_model!r} is not offered here")
        update["llm_model"] = choices.llm_model
    return base.model_copy(update=update)
