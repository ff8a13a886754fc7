"""Evaluate the current collection on a file of judged questions, in a dialog.

The same run as ``python -m rag eval`` (:mod:`rag.evaluate`), with this session's settings,
so a user can see how well Docent answers *their* documents and compare settings.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from rag.access import User
from rag.config import Settings
from rag.errors import USER_ERRORS
from rag.evaluate import EvalReport, evaluate, missing_documents, missing_note
from rag.llm import LLMError
from rag.questions import questions_from_files
from rag.render import plain
from rag.system import Docent

FORMATS = """\
One **QA file** (`.jsonl`), a JSON object a line: `question`, `answer` (a short span the
answer should hold; `null` when your documents don't answer it), `doc` (the file that answers
it) and `pages` (its 1-based pages, or `null`). Or **BEIR** `queries.jsonl` with its
`qrels.tsv` (or qrels in TREC's form: query, iteration, document, grade)."""
EXAMPLE = (
    '{"question": "Which variable sets the temporary directory?", "answer": "TMPDIR", '
    '"doc": "R-admin.pdf", "pages": [28]}\n'
    '{"question": "Who won the 1974 cup final?", "answer": null}\n'
)
MAX_QUESTIONS = 2_000  # a run holds this session; `python -m rag eval` takes any number


def evaluate_button(app: Docent, user: User, collection: str, active: Settings | None) -> None:
    """A button that opens the evaluation dialog for ``collection``."""
    if st.button(
        "🧪 Evaluate this collection",
        disabled=active is None,
        help="Measure retrieval and answers on a file of questions with known answers",
    ):
        assert active is not None
        evaluate_dialog(app, user, collection, active)


@st.dialog("Evaluate this collection", width="large")
def evaluate_dialog(app: Docent, user: User, collection: str, active: Settings) -> None:
    """Upload judged questions, run them with this session's settings, show the figures."""
    st.markdown(FORMATS)
    st.download_button(
        "Example QA file",
        EXAMPLE,
        file_name="questions.jsonl",
        mime="application/jsonl",
        on_click="ignore",
        type="tertiary",
    )
    # No `type=` filter: TREC qrels come as "qrels", "cran.qrels" or "qrels.txt", and the
    # files are told apart (and refused with their name and line) by rag.questions.
    files = st.file_uploader("Question file(s)", accept_multiple_files=True)
    ask = st.checkbox(
        "Also ask every question (refusals and answer spans)",
        value=not active.llm_configured,
        help="With an LLM configured this calls it once per question; search alone does not.",
    )
    if st.button("Run", type="primary"):
        report = _run(app, user, collection, active, files or [], ask)
        st.session_state["eval_report"] = None if report is None else (collection, report)
    shown = st.session_state.get("eval_report")
    if shown is not None and shown[0] == collection:
        show_report(collection, shown[1])


def _run(
    app: Docent, user: User, collection: str, active: Settings, files: list[Any], ask: bool
) -> EvalReport | None:
    bar = st.empty()
    try:
        questions, beir = questions_from_files([(f.name, f.getvalue()) for f in files])
        if len(questions) > MAX_QUESTIONS:
            raise ValueError(
                f"{len(questions):,} questions: the app runs up to {MAX_QUESTIONS:,} at a "
                "time; `python -m rag eval` takes any number"
            )
        target = app.collection(collection, user)
        missing = missing_documents(questions, target, beir)
        if missing:
            st.warning(plain(missing_note(missing, collection)))
        bar.progress(0.0, text=f"0 of {len(questions)} questions")

        def step(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{done} of {total} questions")

        report = evaluate(
            app.answerer(active),
            target,
            questions,
            k=active.top_k,
            beir=beir,
            answers=ask and not beir,
            progress=step,
        )
    except (*USER_ERRORS, LLMError) as exc:  # a bad file, no access, the store or the LLM
        st.error(plain(str(exc)))
        return None
    finally:
        bar.empty()
    return report


def show_report(collection: str, report: EvalReport) -> None:
    """The figures, every question's outcome, and the whole report as JSON."""
    st.markdown(report.table())
    rows = [
        {
            "question": d["question"],
            "hit@1": _cell(d.get("hit_1")),
            "MRR@10": _cell(d.get("mrr_10")),
            "first found": (d.get("top") or [""])[0],
            "answer": d.get("mode") or "–",
            "span in answer": _cell(d.get("span")),
        }
        for d in report.details
    ]
    st.dataframe(rows, hide_index=True)  # plain cells: document text is never rendered
    st.download_button(
        "Download the report (JSON)",
        json.dumps(report.to_dict(details=True), indent=1),
        file_name=f"{collection}-evaluation.json",
        mime="application/json",
        on_click="ignore",
    )


def _cell(value: float | bool | None) -> str:
    """A figure as the table shows it: "–" where it does not apply (an unanswerable
    question has no hit@1; a run that did not ask has no span)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3f}"
