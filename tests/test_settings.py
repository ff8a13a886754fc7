"""Settings read from `.env` as the README writes them; secrets never in a repr."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings


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
