"""``python -m rag eval``: how well a collection answers a file of judged questions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli_answer import (
    acting_user,
    collection_name,
    existing_collection,
    passages,
    settings_from,
)
from rag.errors import USER_ERRORS, report
from rag.evaluate import evaluate, missing_documents, missing_note
from rag.questions import read_beir, read_qa
from rag.system import Docent


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``eval``."""
    cmd = sub.add_parser(
        "eval",
        help="hit@1, hit@k, MRR@10, nDCG@10, Recall@100, refusals, answer spans",
        description="QA lines (question, answer|null, doc, pages) or BEIR queries + --qrels.",
    )
    cmd.add_argument("--questions", type=Path, required=True, help="QA JSONL, or BEIR queries")
    cmd.add_argument(
        "--qrels", type=Path, help="BEIR qrels (TSV) or TREC qrels: --questions is BEIR queries"
    )
    cmd.add_argument(
        "--collection", type=collection_name, help="collection (default: DOCENT_COLLECTION)"
    )
    cmd.add_argument("--data-dir", type=Path, help="data folder (default: ./data)")
    cmd.add_argument(
        "--k", type=passages, default=5, help="cut-off of hit@k and passages per answer"
    )
    cmd.add_argument("--user", help="act as this user (default: the local administrator)")
    cmd.add_argument("--no-answers", action="store_true", help="search only: no refusal/spans")
    cmd.add_argument("--json", action="store_true", help="one JSON object")
    cmd.add_argument("--details", action="store_true", help="with --json: every question")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate; prints a table (or JSON); returns the exit code."""
    try:
        beir = args.qrels is not None
        questions = read_beir(args.questions, args.qrels) if beir else read_qa(args.questions)
        docent = Docent(settings_from(args))
        collection = existing_collection(docent, acting_user(docent, args.user))
        missing = missing_documents(questions, collection, beir)
        if missing:
            print(f"warning: {missing_note(missing, collection.name)}", file=sys.stderr)
        result = evaluate(
            docent.answerer(),
            collection,
            questions,
            k=args.k,
            beir=beir,
            answers=not args.no_answers,
        )
        if args.json:
            print(json.dumps(result.to_dict(details=args.details)))
        else:
            print(result.table())
        return 0
    except USER_ERRORS as exc:
        return report(exc)
