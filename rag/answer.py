"""One question in, one structured answer out: condense, retrieve, rerank, prompt, answer, cite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from rag.citations import Citation, check_citations
from rag.condense import condense
from rag.config import Settings
from rag.embeddings import Embedder
from rag.extractive import extractive_answer
from rag.library import Library
from rag.llm import ChatLLM, LLMError
from rag.llm_rerank import RerankFailed
from rag.prompt import NOT_COVERED, Turn, build_prompt
from rag.rerank import Reranker, make_reranker
from rag.retrieve import Passage, Retriever, SearchOptions
from rag.tokens import count_tokens

Mode = Literal["llm", "extractive", "not-found", "error"]
NOT_FOUND_TEXT = (
    f"{NOT_COVERED} Nothing in this collection matches the question closely "
    "enough, so Docent did not guess. The closest passages are listed below."
)


@dataclass
class AnswerResult:
    """Everything about one answer; ``to_dict()`` is the ``--json`` form."""

    question: str
    query: str = ""  # the standalone query actually searched
    answer: str = ""
    mode: Mode = "extractive"
    citations: list[Citation] = field(default_factory=list)
    removed_citations: int = 0
    sources: list[Passage] = field(default_factory=list)
    reranker: str = ""
    model: str | None = None
    warnings: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    dropped_sources: list[int] = field(default_factory=list)
    dropped_turns: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: sources carry ``source``, ``page``, ``headings``, ``text``, ``scores``."""
        data = asdict(self)
        data["sources"] = [
            {
                "number": n,
                "source": p.source,
                "page": p.page,
                "headings": p.headings,
                "text": p.text,
                "chunk_id": p.chunk_id,
                "scores": asdict(p.scores),
            }
            for n, p in enumerate(self.sources, start=1)
        ]
        data["timings"] = {k: round(v * 1000, 1) for k, v in self.timings.items()}
        data["timings_unit"] = "ms"
        return data


class AnswerStream:
    """Iterate for the answer's text as it is produced; then read :attr:`result`."""

    def __init__(self, result: AnswerResult, deltas: Iterator[str]) -> None:
        self.result = result
        self._deltas = deltas

    def __iter__(self) -> Iterator[str]:
        # The one underlying generator, not a wrapper: a wrapper dropped after a first next()
        # would be closed by the garbage collector and close the answer with it.
        return self._deltas


class Answerer:
    """The answering pipeline over one library; shareable between sessions."""

    def __init__(
        self,
        settings: Settings,
        library: Library,
        embedder: Embedder,
        llm: ChatLLM | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings, self.library, self.embedder, self.llm = settings, library, embedder, llm
        self.retriever = Retriever(library, embedder)
        self.warnings: list[str] = []
        if reranker is None:
            choice = make_reranker(
                settings.reranker,
                library.docs,
                settings.cross_encoder,
                llm,
                settings.llm_context_tokens,
            )
            reranker = choice.reranker
            self.warnings += [choice.warning] if choice.warning else []
        self.reranker = reranker

    def search(
        self,
        query: str,
        collection: str,
        k: int | None = None,
        documents: list[str] | None = None,
        timings: dict[str, float] | None = None,
        warnings: list[str] | None = None,
    ) -> tuple[list[Passage], np.ndarray]:
        """Retrieve and rerank: the top ``k`` passages, best first, and the query vector.

        A second pass that fails leaves the fused order and adds why to ``warnings``.
        """
        timings = timings if timings is not None else {}
        s = self.settings
        start = time.perf_counter()
        vector = self.retriever.embed_query(query)
        timings["embed"] = time.perf_counter() - start
        options = SearchOptions(
            candidates=s.candidates, hybrid=s.hybrid, rrf_k=s.rrf_k, documents=documents
        )
        found = self.retriever.search(query, collection, options, timings, vector)
        start = time.perf_counter()
        try:
            found = self.reranker.rerank(query, vector, found, collection, s.rrf_k)
        except RerankFailed as exc:
            found = exc.passages
            if warnings is not None:
                warnings.append(str(exc))
        timings["rerank"] = time.perf_counter() - start
        return found[: k or s.top_k], vector

    def ask(
        self,
        question: str,
        collection: str,
        history: list[Turn] | None = None,
        k: int | None = None,
        documents: list[str] | None = None,
    ) -> AnswerStream:
        """Answer ``question``; iterate the returned stream to run it."""
        history = history or []
        result = AnswerResult(
            question,
            reranker=self.reranker.name,
            warnings=list(self.warnings),
            model=self.llm.model if self.llm else None,
        )
        return AnswerStream(result, self._run(result, collection, history, k, documents))

    def _run(
        self,
        result: AnswerResult,
        collection: str,
        history: list[Turn],
        k: int | None,
        documents: list[str] | None,
    ) -> Iterator[str]:
        t0 = time.perf_counter()
        timings = result.timings
        try:
            result.query = condense(result.question, history, self.llm)
        except LLMError as exc:  # condensing is optional: search with the question as asked
            result.query = result.question
            result.warnings.append(f"could not condense the follow-up: {exc}")
        timings["condense"] = time.perf_counter() - t0
        sources, vector = self.search(
            result.query, collection, k, documents, timings, result.warnings
        )
        result.sources = sources
        best = max((p.scores.rerank or 0.0 for p in sources), default=0.0)
        if not sources or best < self.reranker.threshold:
            result.mode, result.answer = "not-found", NOT_FOUND_TEXT
            timings["first_token"] = timings["total"] = time.perf_counter() - t0
            yield result.answer
            return
        if self.llm is None:
            result.mode = "extractive"
            result.answer = extractive_answer(vector, sources, self.library.docs, collection)
            self._finish(result, result.answer)
            timings["first_token"] = timings["total"] = time.perf_counter() - t0
            yield result.answer
            return
        yield from self._generate(result, history, t0)

    def _generate(self, result: AnswerResult, history: list[Turn], t0: float) -> Iterator[str]:
        assert self.llm is not None
        s = self.settings
        prompt = build_prompt(
            result.question, result.sources, history, s.llm_context_tokens, s.llm_answer_tokens
        )
        result.sources = prompt.sources
        result.dropped_sources, result.dropped_turns = (
            prompt.budget.dropped_sources,
            prompt.budget.dropped_turns,
        )
        result.mode = "llm"
        parts: list[str] = []
        stream = self.llm.stream(prompt.messages)
        try:
            for delta in stream:
                if not parts:
                    result.timings["first_token"] = time.perf_counter() - t0
                parts.append(delta)
                yield delta
        except LLMError as exc:
            result.mode, result.error = "error", str(exc)
            result.answer = str(exc)
            result.timings["total"] = time.perf_counter() - t0
            if not parts:
                yield str(exc)
            return
        text = "".join(parts)
        b = prompt.budget
        answer_tokens = stream.usage.completion_tokens or count_tokens(text)
        result.tokens = {
            "system": b.system,
            "sources": b.sources,
            "history": b.history,
            "question": b.question,
            "prompt": stream.usage.prompt_tokens or b.total,
            "answer": answer_tokens,
        }
        stream.usage.prompt_tokens = result.tokens["prompt"]
        stream.usage.completion_tokens = answer_tokens
        result.cost_usd = stream.usage.cost_usd(self.llm.model)
        self._finish(result, text)
        if result.answer.strip().startswith(NOT_COVERED):
            result.mode = "not-found"
        result.timings["total"] = time.perf_counter() - t0

    @staticmethod
    def _finish(result: AnswerResult, text: str) -> None:
        checked = check_citations(text, result.sources)
        result.answer, result.citations = checked.text, checked.citations
        result.removed_citations = checked.removed
