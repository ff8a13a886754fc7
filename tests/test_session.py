"""What a session may choose (H1): the operator's key never leaves for a URL it did not set."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.session import SessionChoiceError, SessionChoices, session_settings

OPERATOR = Settings(
    llm_base_url="http://127.0.0.1:9/v1",
    llm_api_key="sk-operator-secret",
    llm_model="small",
    llm_models=["small", "large"],
    _env_file=None,
)


def test_a_session_picks_among_the_operators_models() -> None:
    chosen = session_settings(OPERATOR, "notes", SessionChoices(llm_model="large", top_k=3))
    assert (chosen.llm_model, chosen.top_k, chosen.collection) == ("large", 3, "notes")
    assert chosen.llm_api_key == "sk-operator-secret"  # the operator's own endpoint
    with pytest.raises(SessionChoiceError, match="not offered"):
        session_settings(OPERATOR, "notes", SessionChoices(llm_model="gpt-4o"))


def test_an_own_endpoint_never_gets_the_operators_key() -> None:
    own = SessionChoices(own_base_url="http://127.0.0.1:8/attacker/v1", own_model="m")
    chosen = session_settings(OPERATOR, "notes", own)
    assert chosen.llm_base_url == "http://127.0.0.1:8/attacker/v1"
    assert chosen.llm_api_key is None and chosen.llm_model == "m"
    with_key = session_settings(
        OPERATOR, "n1", SessionChoices(own_base_url=own.own_base_url, own_api_key="sk-mine")
    )
    assert with_key.llm_api_key == "sk-mine"


def test_own_endpoints_are_off_with_accounts_unless_allowed() -> None:
    shared = OPERATOR.model_copy(update={"auth": "accounts"})
    own = SessionChoices(own_base_url="http://127.0.0.1:8/v1")
    with pytest.raises(SessionChoiceError, match="does not allow"):
        session_settings(shared, "notes", own)
    allowed = shared.model_copy(update={"user_endpoints": True})
    assert session_settings(allowed, "notes", own).llm_api_key is None
    with pytest.raises(SessionChoiceError, match="not an http"):
        session_settings(OPERATOR, "notes", SessionChoices(own_base_url="file:///etc/passwd"))
