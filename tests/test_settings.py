"""Settings read from `.env` as the README writes them; secrets never in a repr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.config import Settings
from rag.errors import invalid_settings
from tests.conftest import REPO


def test_shared_deployment_env_file_and_secrets_kept_out_of_repr(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "DOCENT_DATABASE_URL=postgresql://docent:db-s3cret@db-host:5432/docent\n"
        "DOCENT_CHROMA_HEADERS=Authorization=Bearer tok-s3cret, X-Team = docs\n"
        "DOCENT_LLM_API_KEY=sk-s3cret\n"
        "DOCENT_EMBEDDINGS_BASE_URL=http://tei:8080/v1\n"
        "DOCENT_EMBEDDINGS_API_KEY=emb-s3cret\n"
    )
    settings = Settings(_env_file=env)
    assert settings.database_url == "postgresql+psycopg://docent:db-s3cret@db-host:5432/docent"
    assert settings.chroma_headers == {"Authorization": "Bearer tok-s3cret", "X-Team": "docs"}
    assert settings.embeddings_api_key == "emb-s3cret"
    shown = (
        repr(settings) + str(settings) + repr(settings.model_dump(exclude={"llm_api_key"}).keys())
    )
    assert "s3cret" not in shown


def test_a_setting_that_is_not_valid_is_named_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCENT_TOP_K", "sk-secret-five")  # a pasted key, say: never echoed
    monkeypatch.setenv("DOCENT_COLLECTION", "hb")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = invalid_settings(caught.value)
    assert "DOCENT_TOP_K: Input should be a valid integer" in message
    assert "DOCENT_COLLECTION: invalid collection name 'hb'" in message
    assert "sk-secret" not in message and "Value error" not in message


def test_the_command_lines_and_make_name_a_bad_setting_or_argument() -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **env},
        )

    # rag.assets is what `make install` and `make run` run first
    assets = run("rag.assets", DOCENT_MAX_FILE_MB="lots")
    assert assets.returncode == 2 and "Traceback" not in assets.stderr
    assert "settings are not valid: DOCENT_MAX_FILE_MB: Input should be a valid" in assets.stderr
    ask = run("rag", "ask", "why?", "--collection", "a b")
    assert ask.returncode == 2 and "argument --collection: invalid collection name" in ask.stderr
    share = run("rag", "share", "hb", "bob")
    assert share.returncode == 2 and "argument collection: invalid collection name" in share.stderr
