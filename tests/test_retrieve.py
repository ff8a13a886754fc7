"""Hybrid retrieval on a real store: fusion order, what only BM25 finds, reads per question."""

from __future__ import annotations

import pytest

from rag.docstore import CollectionRows
from rag.lexical import tokenize
from rag.retrieve import SearchOptions, convex, retrieve, rrf, word_weights
from rag.system import Docent
from tests.conftest import PDFS, ingest
from tests.helpers import FACTS, make_pdf


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf([["a", "b", "c"], ["c", "d"]], k=10)
    assert fused == pytest.approx({"a": 1 / 11, "b": 1 / 12, "c": 1 / 13 + 1 / 11, "d": 1 / 12})
    assert sorted(fused, key=fused.__getitem__, reverse=True) == ["c", "a", "b", "d"]
    weighted = rrf([["a", "b"], ["b", "a"]], k=10, weights=[1.0, 2.0])
    assert weighted == pytest.approx({"a": 1 / 11 + 2 / 12, "b": 1 / 12 + 2 / 11})


def test_convex_fusion_mixes_min_max_normalised_scores() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    bm25 = [("c", 30.0), ("d", 10.0)]
    fused = convex([dense, bm25], [0.5, 0.5])
    assert fused == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.5, "d": 0.0})
    assert convex([[], bm25], [0.5, 0.5]) == pytest.approx({"c": 0.5, "d": 0.0})


@pytest.fixture
def mixed(facts: Docent) -> Docent:
    """FACTS plus a note whose only match for a query is a rare identifier."""
    note = b"# Config\nSet the option zq_cachedir_v7 before starting the service.\n"
    assert ingest(facts, ("config.md", note)) == ["indexed"]
    return facts


def test_a_passage_only_bm25_finds_is_fused_in(mixed: Docent) -> None:
    collection = mixed.collection()
    # The dense side searches with a vector about volcanoes, BM25 with a rare identifier: only
    # BM25 can find the note.
    query, vector = "zq_cachedir_v7", mixed.embedder.encode(["Kilauea volcano eruption"])[0]
    only_one = SearchOptions(candidates=1, rrf_k=20)  # each retriever brings its best one
    dense_top = collection.dense(vector, 1)[0][0]
    passages = retrieve(collection, query, vector, only_one)
    by_id = {p.chunk_id: p for p in passages}
    [config] = [p for p in passages if p.source == "config.md"]
    assert config.chunk_id != dense_top  # dense alone would not return it...
    assert config.scores.dense is None and config.scores.bm25_rank == 1  # ...BM25 does
    assert by_id[dense_top].scores.dense_rank == 1
    assert len(passages) == 2 and config.vector.shape == (384,)


def test_fusion_mixes_scores_by_default_and_ranks_on_request(mixed: Docent) -> None:
    collection = mixed.collection()
    query = "largest glacier in the Alps"
    vector = mixed.embedder.encode([query])[0]
    assert SearchOptions.from_settings(mixed.settings).fusion == "convex"
    by_score = retrieve(collection, query, vector, SearchOptions.from_settings(mixed.settings))
    for p in by_score:  # each list's scores min-max normalised, then half and half
        assert 0.0 <= p.scores.fused <= 1.0
    assert by_score[0].scores.fused == max(p.scores.fused for p in by_score)
    rrf_settings = mixed.settings.model_copy(update={"fusion": "rrf", "rrf_k": 20})
    by_rank = retrieve(collection, query, vector, SearchOptions.from_settings(rrf_settings))
    for p in by_rank:
        ranks = [r for r in (p.scores.dense_rank, p.scores.bm25_rank) if r]
        assert p.scores.fused == pytest.approx(sum(1 / (20 + r) for r in ranks))


@pytest.mark.parametrize("question", ["???", "the", "a an the of", "   "])
def test_a_question_of_stop_words_is_answered_from_dense_alone(
    facts: Docent, question: str
) -> None:
    result = facts.search(question)
    assert result.passages  # dense still ranks something
    assert all(p.scores.bm25 is None for p in result.passages)


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = CollectionRows.load

    def counted(self: CollectionRows, ids: list[str], ready_only: bool = True) -> object:
        calls.append(len(ids))
        return real(self, ids, ready_only)

    monkeypatch.setattr(CollectionRows, "load", counted)
    return calls


def test_one_read_of_chunk_vectors_per_question(
    mixed: Docent, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_loads(monkeypatch)
    stream = mixed.ask("How do honey bees tell direction?")
    assert "waggle" in "".join(stream) and stream.result.mode == "extractive"
    assert len(calls) == 1  # retrieval, relevance, sentence choice: all from one read
    maxsim = mixed.settings.model_copy(update={"reranker": "maxsim"})
    "".join(mixed.ask("What is the largest glacier in the Alps?", settings=maxsim))
    assert len(calls) == 2


def test_a_deleted_document_drops_out_of_search(mixed: Docent) -> None:
    collection = mixed.collection()
    [config] = [d for d in collection.documents() if d.name == "config.md"]
    collection.delete_document(config.doc_id)
    found = mixed.search("zq_cachedir_v7", k=10).passages
    assert found and all(p.source == "facts.pdf" for p in found)


def test_facts_pdf_fixture_is_real(facts: Docent) -> None:
    assert [p.page for p in facts.search("waggle dance of bees", k=1).passages] == [2]
    assert make_pdf(FACTS)[:5] == b"%PDF-"


def test_term_coverage_counts_what_the_question_is_about(facts: Docent) -> None:
    question = "How do honey bees dance on glaciers?"
    found = {p.page: p.scores for p in facts.search(question, k=3).passages}
    weights = word_weights(facts.collection().lexical(), sorted(set(tokenize([question])[0])))
    total = sum(weights.values())
    assert found[2].coverage == pytest.approx(
        (weights["honey"] + weights["bee"] + weights["danc"]) / total
    )
    assert found[3].coverage == pytest.approx(weights["glacier"] / total)  # "glacier" once
    assert found[1].coverage == 0.0
    assert found[2].title == pytest.approx(weights["bee"] / total)  # heading "Bees"
    assert found[3].title == pytest.approx(weights["glacier"] / total)  # heading "Glaciers"
    # Three chunks: IDF there says little, so the four words of the topic weigh nearly the
    # same, and "how" and "do", in no chunk (IDF's heaviest), next to nothing.
    topic = [weights[w] for w in ("honey", "bee", "danc", "glacier")]
    assert max(topic) / min(topic) < 1.1
    assert max(weights["how"], weights["do"]) < 0.1 * min(topic)


class _Index:
    """What word_weights reads of a lexical index: its size and its IDF."""

    def __init__(self, chunks: int, idf: dict[str, float]) -> None:
        self.chunks, self._idf = chunks, idf

    def idf(self, words: list[str]) -> dict[str, float]:
        return {w: self._idf[w] for w in words}


def test_word_weights_follow_idf_in_a_large_collection_only() -> None:
    idf = {"rare": 6.0, "common": 1.0}
    large = word_weights(_Index(100_000, idf), ["rare", "common"])  # type: ignore[arg-type]
    assert large["rare"] / large["common"] == pytest.approx(6.0, rel=0.01)
    tiny = word_weights(_Index(2, idf), ["rare", "common"])  # type: ignore[arg-type]
    assert tiny["rare"] / tiny["common"] == pytest.approx(1.0, abs=0.1)


def test_search_without_bm25_still_judges_with_it(local: Docent) -> None:
    # Hybrid search off: the passages are the dense ones, in dense order, but the second pass
    # and the refusal check still read their BM25 ranks. Without them this question, which
    # R-admin answers (http_proxy), was refused at 0.17 against 0.43 with hybrid on.
    pdf = (PDFS / "R-admin.pdf").read_bytes()
    assert ingest(local, ("R-admin.pdf", pdf)) == ["indexed"]
    question = "How do I set a proxy for downloads?"
    vector = local.embedder.encode([question])[0]
    collection = local.collection()
    dense_only = SearchOptions(hybrid=False)
    passages = retrieve(collection, question, vector, dense_only)
    ids = [cid for cid, _ in collection.dense(vector, dense_only.candidates)]
    assert [p.chunk_id for p in passages] == ids
    assert any(p.scores.bm25_rank for p in passages)  # judged with BM25 ...
    assert all(p.scores.dense_rank for p in passages)  # ... but found by dense alone
    answers = {}
    for hybrid in (True, False):
        stream = local.ask(question, settings=local.settings.model_copy(update={"hybrid": hybrid}))
        "".join(stream)
        answers[hybrid] = stream.result
    assert answers[False].mode == answers[True].mode == "extractive"
    assert "proxy" in answers[False].answer
    assert answers[False].confidence == pytest.approx(answers[True].confidence, abs=0.05)
