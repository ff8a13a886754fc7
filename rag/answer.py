"""One question in, one structured answer out: condense, retrieve, rerank, prompt, answer, cite.

Results carry everything a front end shows (answer, mode, citations, sources with every score,
reranker, warnings, tokens, cost, timings); warnings travel only in results.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from rag.attribution import Support, attribute
from rag.citations import Citation, check_citations
from rag.collection import Collection
from rag.condense import condense
from rag.config import Settings
from rag.embeddings import Embedder
from rag.extractive import extractive_answer
from rag.llm import ChatLLM, LLMError
from rag.lookup import names_exactly
from rag.passage import Passage
from rag.prompt import NOT_COVERED, Turn, build_prompt
from rag.rerank import Reranker, RerankError
from rag.retrieve import SearchOptions, retrieve
from rag.tokens import count_tokens

Mode = Literal["llm", "extractive", "not-found", "error"]
NOT_FOUND_TEXT = (
    f"{NOT_COVERED} Nothing in this collection matches the question closely "
    "enough, so Docent did not guess. The closest passages are listed below."
)
HISTORY_TURNS = 8  # earlier messages (questions and answers) a follow-up may draw on


def _ms(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v * 1000, 1) for k, v in timings.items()}


@dataclass
class SearchResult:
    """The passages found for a query, best first, and how they were found."""

    query: str
    passages: list[Passage]
    query_vector: np.ndarray
    reranker: str
    confidence: float = 0.0  # the reranker's: below its threshold, "not in your documents"
    lookup: bool = False  # the best passage holds a code the query names (rag.lookup)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``search --json`` form."""
        return {
            "question": self.query,
            "reranker": self.reranker,
            "confidence": self.confidence,
            "warnings": self.warnings,
            "results": [p.to_dict(n) for n, p in enumerate(self.passages, start=1)],
            "timings_ms": _ms(self.timings),
        }


@dataclass
class AnswerResult:
    """Everything about one answer; ``to_dict()`` is the ``ask --json`` form."""

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
    confidence: float | None = None  # the reranker's confidence that the documents answer it
    lookup: bool = False  # answered as a lookup of a code the best source holds (rag.lookup)
    tokens: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    dropped_sources: list[int] = field(default_factory=list)
    dropped_turns: int = 0
    error: str | None = None
    support: list[Support] = field(default_factory=list)  # per sentence of an LLM answer

    @property
    def unsupported_sentences(self) -> int:
        """Sentences (and list items) of an LLM answer that no source supports."""
        return sum(not s.supported for s in self.support if s.kind != "code")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; sources and citations have the same form as ``search --json`` results."""
        skip = ("sources", "citations", "support")
        data = {k: v for k, v in asdict(self).items() if k not in skip}
        data["sources"] = [p.to_dict(n) for n, p in enumerate(self.sources, start=1)]
        data["citations"] = [c.to_dict() for c in self.citations]
        data["support"] = [s.to_dict() for s in self.support]
        data["unsupported_sentences"] = self.unsupported_sentences
        data["sentences"] = sum(s.kind != "code" for s in self.support)
        data["timings"] = _ms(self.timings)
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
    """The answering pipeline for one configuration; shareable between sessions and threads."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        reranker: Reranker,
        llm: ChatLLM | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        """
        Args:
            settings: retrieval and LLM settings (``candidates``, ``top_k``, budgets, ...).
            embedder: embeds queries (the collection's model).
            reranker: the second pass that runs.
            llm: the chat model; ``None`` gives extractive answers.
            warnings: why the configuration is not the one asked for (copied into results).
        """
        self.settings, self.embedder, self.reranker, self.llm = settings, embedder, reranker, llm
        self.warnings = list(warnings or [])

    def search(self, query: str, collection: Collection, k: int | None = None) -> SearchResult:
        """The top ``k`` passages for ``query`` (retrieved, then reranked), best first."""
        result = self._search(query, collection, k)
        result.warnings[:0] = self.warnings
        return result

    def _search(self, query: str, collection: Collection, k: int | None) -> SearchResult:
        result = SearchResult(query, [], np.zeros(0), self.reranker.name)
        start = time.perf_counter()
        result.query_vector = self.embedder.encode([query])[0]
        result.timings["embed"] = time.perf_counter() - start
        found = retrieve(
            collection,
            query,
            result.query_vector,
            SearchOptions.from_settings(self.settings),
            result.timings,
        )
        start = time.perf_counter()
        try:
            found = self.reranker.rerank(query, result.query_vector, found)
        except RerankError as exc:  # the fused order stands
            result.warnings.append(str(exc))
        result.confidence = self.reranker.confidence(result.query_vector, found)
        result.lookup = names_exactly(query, found)
        result.timings["rerank"] = time.perf_counter() - start
        result.passages = found[: k or self.settings.top_k]
        return result

    def ask(
        self,
        question: str,
        collection: Collection,
        history: list[Turn] | None = None,
        k: int | None = None,
    ) -> AnswerStream:
        """Answer ``question`` (a follow-up uses ``history``); iterate the stream to run it."""
        result = AnswerResult(
            question,
            reranker=self.reranker.name,
            warnings=list(self.warnings),
            model=self.llm.model if self.llm else None,
        )
        turns = list(history or [])[-HISTORY_TURNS:]
        size, limit = count_tokens(question), self.settings.max_question_tokens
        if size > limit:
            result.mode = "error"
            result.error = result.answer = (
                f"Your question is {size:,} tokens long; Docent takes questions of up to "
                f"{limit:,} tokens (DOCENT_MAX_QUESTION_TOKENS). Ask about one thing at a time, "
                "or add a long text as a document and ask about it."
            )
            return AnswerStream(result, iter([result.answer]))
        return AnswerStream(result, self._run(result, collection, turns, k))

    def _run(
        self, result: AnswerResult, collection: Collection, history: list[Turn], k: int | None
    ) -> Iterator[str]:
        t0 = time.perf_counter()
        try:
            result.query = condense(result.question, history, self.llm)
        except LLMError as exc:  # condensing is optional: search with the question as asked
            result.query = result.question
            result.warnings.append(f"could not condense the follow-up: {exc}")
        result.timings["condense"] = time.perf_counter() - t0
        found = self._search(result.query, collection, k)
        if self.llm is None and result.query != result.question:
            # Offline, a follow-up is joined to the previous question, which may be on another
            # topic ("And how often should I descale my teapot?" after one about kiwis): the
            # reading the documents answer with more confidence is kept, so the answer does
            # not lead with the old topic.
            alone = self._search(result.question, collection, k)
            if alone.confidence > found.confidence:
                result.query, found = result.question, alone
        result.sources = found.passages
        result.warnings += found.warnings
        result.timings |= found.timings
        result.confidence, result.lookup = found.confidence, found.lookup
        # A lookup ("Which warehouse holds SKU-04999?") is answered by the passage that holds
        # the code, whatever the answerability model makes of the question's other words.
        if not found.passages or (found.confidence < self.reranker.threshold and not found.lookup):
            result.mode, result.answer = "not-found", NOT_FOUND_TEXT
            result.timings["first_token"] = result.timings["total"] = time.perf_counter() - t0
            yield result.answer
            return
        if self.llm is None:
            result.mode = "extractive"
            answer = extractive_answer(
                result.query, found.query_vector, found.passages, load=collection.load
            )
            self._finish(result, answer)
            result.timings["first_token"] = result.timings["total"] = time.perf_counter() - t0
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
        result.dropped_sources = prompt.budget.dropped_sources
        result.dropped_turns = prompt.budget.dropped_turns
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
        if stream.finish_reason == "length":
            result.warnings.append("the answer reached its length limit and was cut off there")
        elif stream.finish_reason is None:
            result.warnings.append(
                "the LLM endpoint ended the answer without saying it was complete: "
                "it may be cut off"
            )
        b = prompt.budget
        result.tokens = {
            "system": b.system,
            "sources": b.sources,
            "history": b.history,
            "question": b.question,
            "prompt": stream.usage.prompt_tokens or b.total,
            "answer": stream.usage.completion_tokens or count_tokens(text),
        }
        result.cost_usd = self.llm.cost_usd(result.tokens["prompt"], result.tokens["answer"])
        self._finish(result, text)
        if result.answer.strip().startswith(NOT_COVERED):
            result.mode = "not-found"
        else:
            self._attribute(result)
        result.timings["total"] = time.perf_counter() - t0

    def _attribute(self, result: AnswerResult) -> None:
        """Find each sentence's support; cite the sources the model left out."""
        start = time.perf_counter()
        result.support = attribute(
            result.answer, result.sources, self.embedder, question=result.query or result.question
        )
        cited = {c.number for c in result.citations}
        for s in result.support:
            if s.added and s.source is not None and s.source not in cited:
                cited.add(s.source)
                result.citations.append(Citation(s.source, result.sources[s.source - 1], True))
        result.citations.sort(key=lambda c: c.number)
        result.timings["attribution"] = time.perf_counter() - start

    @staticmethod
    def _finish(result: AnswerResult, text: str) -> None:
        checked = check_citations(text, result.sources)
        result.answer, result.citations = checked.text, checked.citations
        result.removed_citations = checked.removed
