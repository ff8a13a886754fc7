"""The composition root: settings in, a ready :class:`Docent` out.

The app, both command lines, the benchmarks and the tests build Docent here and nowhere else:
the offline assets, the embedding model and the library once per process; the LLM client and
the reranker per configuration (a session's choices), with loaded models cached.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rag.access import User
from rag.accounts import Accounts
from rag.answer import Answerer, AnswerStream, SearchResult
from rag.assets import prepare
from rag.chats import ChatStore
from rag.collection import Collection
from rag.config import Settings, get_settings
from rag.embeddings import Embedder
from rag.learned import LearnedReranker
from rag.library import Library
from rag.llm import ChatLLM
from rag.llm_rerank import LLMReranker
from rag.prompt import Turn
from rag.rerank import CrossEncoderReranker, MaxSimReranker, NoReranker, Reranker


@dataclass
class RerankerChoice:
    """The reranker that will run, and why it is not the one asked for (if so)."""

    reranker: Reranker
    warning: str | None = None


def make_reranker(
    settings: Settings,
    llm: ChatLLM | None = None,
    cross_encoders: dict[str, Reranker] | None = None,
) -> RerankerChoice:
    """The configured second pass; a backend that can't run falls back to ``none`` with a warning.

    Args:
        settings: ``reranker`` (``auto``: a cross-encoder if one is configured, else ``learned``),
            ``cross_encoder``, ``rrf_k`` and ``llm_context_tokens``.
        llm: the chat model, for ``llm``.
        cross_encoders: loaded cross-encoders by name, reused and filled (they are models).
    """
    name = settings.reranker
    if name == "auto":
        name = "cross-encoder" if settings.cross_encoder else "learned"
    if name == "learned":
        return RerankerChoice(LearnedReranker())
    if name == "maxsim":
        return RerankerChoice(MaxSimReranker(settings.rrf_k))
    if name == "llm":
        if llm is None:
            return RerankerChoice(
                NoReranker(),
                "the LLM reranker needs an LLM (DOCENT_LLM_BASE_URL or OPENAI_API_KEY); "
                "using the fused order",
            )
        return RerankerChoice(LLMReranker(llm, settings.llm_context_tokens))
    if name != "cross-encoder":
        return RerankerChoice(NoReranker())
    model = settings.cross_encoder
    if not model:
        return RerankerChoice(
            NoReranker(),
            "no cross-encoder is configured (DOCENT_CROSS_ENCODER); using the fused order",
        )
    cache = cross_encoders if cross_encoders is not None else {}
    try:
        if model not in cache:
            cache[model] = CrossEncoderReranker(model)
        return RerankerChoice(cache[model])
    except Exception as exc:  # any load failure: fall back, never crash
        return RerankerChoice(
            NoReranker(),
            f"cross-encoder {model!r} could not be loaded ({type(exc).__name__}); "
            "using the fused order instead",
        )


class Docent:
    """Docent, assembled: embedder, library, and answerers built from settings.

    Shareable between threads (the app's sessions): the embedder and library are built once,
    an :class:`Answerer` per configuration.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        """Seed the offline assets, load the embedding model, open the library (recovering it)."""
        self.settings = settings or get_settings()
        self.embedder: Embedder = prepare(self.settings)
        self.library = Library(self.settings, self.embedder.fingerprint)
        self.accounts = Accounts(self.library.store.db, self.settings)
        self.chats = ChatStore(self.library.store.db)
        self._cross_encoders: dict[str, Reranker] = {}
        self._lock = threading.Lock()

    def collection(self, name: str | None = None, user: User | None = None) -> Collection:
        """A handle on ``name`` (default: the configured collection) for ``user`` (default:
        the local administrator)."""
        return self.library.open(name or self.settings.collection, user)

    def answerer(self, settings: Settings | None = None) -> Answerer:
        """The answering pipeline for ``settings`` (default: Docent's own)."""
        s = settings or self.settings
        # A session's own endpoint (or key) is not the server's: its errors say so
        own = (s.llm_base_url, s.llm_api_key) != (
            self.settings.llm_base_url,
            self.settings.llm_api_key,
        )
        llm = ChatLLM(s, own=own) if s.llm_configured else None
        with self._lock:  # two sessions must not load the same cross-encoder twice
            choice = make_reranker(s, llm, self._cross_encoders)
        return Answerer(
            s, self.embedder, choice.reranker, llm, [choice.warning] if choice.warning else []
        )

    def search(
        self,
        query: str,
        collection: str | None = None,
        k: int | None = None,
        settings: Settings | None = None,
        user: User | None = None,
    ) -> SearchResult:
        """The top passages for ``query`` (``user`` must be allowed to read the collection)."""
        return self.answerer(settings).search(query, self.collection(collection, user), k)

    def ask(
        self,
        question: str,
        collection: str | None = None,
        history: list[Turn] | None = None,
        k: int | None = None,
        settings: Settings | None = None,
        user: User | None = None,
    ) -> AnswerStream:
        """A streamed, cited answer (iterate it, then read ``.result``)."""
        target = self.collection(collection, user)
        return self.answerer(settings).ask(question, target, history, k)

    def close(self) -> None:
        """Release the writer lock and the database."""
        self.library.close()
