"""What one session of the app may choose for itself, applied to the operator's settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rag.config import RerankerName, Settings


@dataclass
class SessionChoices:
    """A session's own choices; ``None`` keeps the operator's setting."""

    top_k: int | None = None
    hybrid: bool | None = None
    reranker: RerankerName | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None


def session_settings(base: Settings, collection: str, choices: SessionChoices) -> Settings:
    """The settings one session's questions run with."""
    overrides = {k: v for k, v in asdict(choices).items() if v not in (None, "")}
    return base.model_copy(update={**overrides, "collection": collection})
