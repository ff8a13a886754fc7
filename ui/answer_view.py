"""An answer on the page: its badge, its sources (expandable, with every score) and small print.

Answers are drawn from their saved JSON form, so a fresh answer and one from a reopened chat
look the same; a source no longer in the collection is marked as replaced or deleted.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.attribution import ADDED, annotate
from rag.citations import linked
from rag.render import plain, safe_markdown, source_markdown
from rag.transcript import source_labels

MODE_BADGES = {
    "llm": ("🧠", "Answer written by the LLM from the sources below."),
    "extractive": ("📎", "Quoted, not written: open a source below to read it in context."),
    "not-found": ("🚫", "Your documents don't seem to cover this, so Docent did not guess."),
    "error": ("⚠️", "The LLM endpoint failed; the chat still works."),
}


def badge(answer: dict[str, Any]) -> str:
    """How the answer was made, in a line. An error before any search (a question too long
    to take) is not the LLM's failure, and with no LLM configured there is no endpoint."""
    if answer["mode"] == "error" and not answer["sources"]:
        return "⚠️ Docent did not search for this one: the reason is above."
    icon, why = MODE_BADGES[answer["mode"]]
    return f"{icon} {why}"


def answer_text(answer: dict[str, Any], anchor: str | None = None) -> str:
    """The answer as shown: with the citations Docent added and its quiet notes; with an
    ``anchor`` (:func:`show_answer`'s), each citation links to the sources and names its
    source when pointed at."""
    text = safe_markdown(annotate(answer["answer"], answer.get("support") or [], "streamlit"))
    if anchor is None:
        return text
    labels = source_labels(answer["sources"])
    titles = {s["number"]: label for s, label in zip(answer["sources"], labels, strict=True)}
    return linked(text, titles, anchor)


def show_answer(
    answer: dict[str, Any], gone: set[str] | None = None, anchor: str | None = None
) -> None:
    """Badge, sources and small print under an answer.

    Args:
        answer: the answer's JSON form (``AnswerResult.to_dict()``).
        gone: chunk ids no longer in the collection: those sources are marked so.
        anchor: the id its citations link to (letters, digits and "-" only), set on the badge
            above the sources.
    """
    if anchor is None:
        st.caption(badge(answer))
    else:  # the badge's strings are Docent's own: no HTML but the anchor goes through
        st.caption(f'<span id="{anchor}"></span>{badge(answer)}', unsafe_allow_html=True)
    cited = {c["number"] for c in answer["citations"]}
    labels = source_labels(answer["sources"])
    for source, label in zip(answer["sources"], labels, strict=True):
        n = source["number"]
        mark = "📌 " if n in cited else ""
        old = " (since replaced or deleted)" if gone and source["chunk_id"] in gone else ""
        with st.expander(f"{mark}[{n}] {plain(label)}{old}"):
            if old:
                st.caption(
                    "🕰 This passage is from a version of the document that was replaced or "
                    "deleted since: it is shown as it was when the answer was given."
                )
            if source["headings"]:
                st.caption(" › ".join(plain(h) for h in source["headings"]))
            code = [(s, e) for s, e in source.get("code") or ()]  # a <pre>'s lines, as code
            st.markdown(source_markdown(source["text"], source.get("kind"), code))
            for s in answer.get("support") or []:
                if s["source"] == n:
                    how = "citation added by Docent" if s["added"] else "cited"
                    quote = " ".join(str(s["text"]).split())[:160]
                    st.caption(f"supports “{plain(quote)}” ({how}, {s['score']:.2f})")
            sc = source["scores"]
            graded = f" · LLM grade {sc['llm']:.0f}/10" if sc.get("llm") is not None else ""
            st.caption(
                f"rerank {_fmt(sc.get('rerank'))} · dense {_fmt(sc.get('dense'))} · "
                f"BM25 {_fmt(sc.get('bm25'))} · fused #{sc.get('fused_rank')}{graded}"
            )
    st.caption(small_print(answer))


def small_print(answer: dict[str, Any]) -> str:
    """Mode, model, reranker, tokens, cost, time to first token, warnings."""
    t = answer.get("tokens") or {}
    parts = [f"mode {answer['mode']}"]
    # Only an answer the model was asked for names it: not one refused before it was asked
    wrote = answer["mode"] in ("llm", "error") or bool(t)
    if answer.get("model") and wrote:
        parts.append(f"model {plain(answer['model'])}")
    parts.append(f"reranker {plain(answer.get('reranker') or '—')}")
    if t:
        parts.append(
            f"tokens {t.get('sources', 0)} sources / {t.get('history', 0)} history / "
            f"{t.get('answer', 0)} answer"
        )
    if answer.get("cost_usd") is not None:
        parts.append(f"≈ ${answer['cost_usd']:.4f}")
    if "first_token" in (answer.get("timings") or {}):
        parts.append(f"first token {answer['timings']['first_token']:.0f} ms")
    if answer.get("removed_citations"):
        parts.append(f"{answer['removed_citations']} invalid citation(s) removed")
    if answer.get("sentences"):
        supported = answer["sentences"] - answer["unsupported_sentences"]
        parts.append(f"{supported} of {answer['sentences']} sentences supported")
    if any(s["added"] for s in answer.get("support") or []):
        parts.append(f"{ADDED} citation added by Docent")
    parts += [f"⚠️ {plain(w)}" for w in answer.get("warnings") or []]
    return " · ".join(parts)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
