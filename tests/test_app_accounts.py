"""Signing in through ``AppTest``: the form, its answers, sign-out, SSO buttons, the open-bind
guard. (The real-browser path, two users at once, is in test_browser_accounts.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from rag.accounts import Accounts
from rag.config import Settings, get_settings
from rag.database import open_database
from tests.conftest import REPO

APP = str(REPO / "app.py")


@pytest.fixture
def accounts_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> Iterator[Path]:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_AUTH", "accounts")
    for var in ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
    st.cache_resource.clear()


def _accounts(data_dir: Path) -> Accounts:
    settings = Settings(data_dir=data_dir, auth="accounts", _env_file=None)
    return Accounts(open_database(settings), settings)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, password: str) -> None:
    inputs = {t.label: t for t in at.text_input}
    inputs["Name"].input(name)
    inputs["Password"].input(password)
    at.button[0].click()
    _run(at)


def test_no_data_before_signing_in_and_a_hint_for_the_first_admin(accounts_env: Path) -> None:
    at = _run(AppTest.from_file(APP, default_timeout=300))
    assert "python -m rag users add NAME --admin --password-stdin" in at.info[0].value
    assert not at.sidebar.file_uploader and not at.chat_input  # nothing but the form
    assert [t.label for t in at.text_input] == ["Name", "Password"]


def test_wrong_then_right_password_then_sign_out(accounts_env: Path) -> None:
    _accounts(accounts_env).add("ann", "correct horse")
    at = _run(AppTest.from_file(APP, default_timeout=300))
    _sign_in(at, "ann", "wrong horse")
    assert at.error[0].value == "Wrong name or password\\."
    _sign_in(at, "nobody", "correct horse")
    assert at.error[0].value == "Wrong name or password\\."
    _sign_in(at, "ann", "correct horse")
    assert "Signed in as **ann**" in "\\n".join(c.value for c in at.sidebar.caption)
    assert at.sidebar.file_uploader  # her own, new collection
    assert at.session_state["collection"] == "ann-docs"
    welcome = next(i.value for i in at.info if "Welcome to Docent" in i.value)
    assert "OPENAI_API_KEY" not in welcome  # the server's settings are the operator's
    assert "Your administrator can configure an LLM" in welcome  # no own endpoints here
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    _run(at)
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    assert not at.sidebar.file_uploader


def test_single_sign_on_buttons_appear_when_configured(accounts_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "google": {"client_id": "x", "client_secret": "y", "server_metadata_url": "https://x"},
    }
    _run(at)
    assert [b.label for b in at.button] == ["Sign in", "Sign in with google"]


def test_without_accounts_an_open_address_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_AUTH", "none")
    get_settings.cache_clear()
    st.cache_resource.clear()
    config.set_option("server.address", "0.0.0.0")
    try:
        at = _run(AppTest.from_file(APP, default_timeout=300))
    finally:
        config.set_option("server.address", "127.0.0.1")
        get_settings.cache_clear()
    assert "serves only this machine" in at.error[0].value
    assert not at.sidebar.file_uploader and not at.chat_input  # nothing else is drawn


def test_a_delete_refused_by_a_role_change_mid_confirmation_says_so(accounts_env: Path) -> None:
    # bob opens the delete confirmation as a writer; ann makes him a reader before he answers.
    # The list then has no delete buttons, and the pending confirmation used to vanish unsaid.
    from rag.access import User
    from rag.system import Docent
    from tests.conftest import ingest
    from tests.helpers import FACTS, make_pdf

    accounts = _accounts(accounts_env)
    for name in ("ann", "bob"):
        accounts.add(name, f"{name}'s long password")
    settings = Settings(data_dir=accounts_env, auth="accounts", _env_file=None)
    owner = Docent(settings)
    try:
        ann = User("ann")
        shared = owner.collection("ann-team", ann)
        assert ingest(owner, ("facts.pdf", make_pdf(FACTS)), collection=shared) == ["indexed"]
        owner.library.share("ann-team", ann, "bob", "writer")
        at = AppTest.from_file(APP, default_timeout=300)
        at.query_params["collection"] = "ann-team"
        _run(at)
        _sign_in(at, "bob", "bob's long password")
        assert at.session_state["collection"] == "ann-team"
        next(b for b in at.sidebar.button if (b.key or "").startswith("del-")).click()
        _run(at)
        assert "Delete **facts\\.pdf**" in at.sidebar.warning[0].value
        owner.library.share("ann-team", ann, "bob", "reader")
        _run(at)
        warning = at.sidebar.warning[0].value
        assert "facts\\.pdf was not deleted" in warning and "reader" in warning
        assert not [b for b in at.sidebar.button if (b.key or "").startswith("del")]
        team = owner.collection("ann-team", ann)
        assert [d.name for d in team.documents()] == ["facts.pdf"]
        team.delete_document(team.documents()[0].doc_id)  # now empty: a reader cannot fill it
        _run(at)
        assert at.chat_input[0].disabled and at.chat_input[0].placeholder == "No documents yet"
    finally:
        owner.close()
