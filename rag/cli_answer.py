"""``python -m rag search|ask``: ranked passages, or a streamed, cited answer, from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.access import AccessDenied, User
from rag.answer import AnswerResult, SearchResult
from rag.collection import Collection
from rag.config import TOP_K_RANGE, Settings, check_collection_name, get_settings
from rag.errors import USER_ERRORS, report
from rag.system import Docent
from rag.transcript import source_labels


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``search`` and ``ask``."""
    for name, help_text in (("search", "ranked passages"), ("ask", "a grounded, cited answer")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("question", nargs="?", help="the question (or use --questions)")
        cmd.add_argument(
            "--questions", type=Path, help="JSONL with a 'question' field, or one question per line"
        )
        cmd.add_argument(
            "--collection", type=collection_name, help="collection (default: DOCENT_COLLECTION)"
        )
        cmd.add_argument("--data-dir", type=Path, help="data folder (default: ./data)")
        cmd.add_argument("--k", type=passages, help="passages to return / give to the answer")
        cmd.add_argument("--json", action="store_true", help="one JSON object per result")
        cmd.add_argument("--user", help="act as this user (default: the local administrator)")
        cmd.set_defaults(run=run)


def collection_name(text: str) -> str:
    """``--collection``: a valid collection name, checked as the argument is read, so that a
    bad one is a usage error naming the option."""
    try:
        check_collection_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def passages(text: str) -> int:
    """``--k``: a whole number of passages in the range the settings allow (a negative one
    used to slice the list from its end)."""
    low, high = TOP_K_RANGE
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not low <= k <= high:
        raise argparse.ArgumentTypeError(f"{k} passages: give {low} to {high}")
    return k


def read_questions(path: Path) -> list[str]:
    """Questions from a JSONL file (``question`` field) or a plain file, one per line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        out.append(str(json.loads(line)["question"]) if line.startswith("{") else line)
    return out


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings, with ``--collection`` / ``--data-dir`` applied."""
    overrides = {
        k: v for k, v in {"collection": args.collection, "data_dir": args.data_dir}.items() if v
    }
    return Settings(**overrides) if overrides else get_settings()


def existing_collection(docent: Docent, user: User | None = None) -> Collection:
    """The configured collection, for ``user``; it must exist: asking or evaluating one that
    holds nothing is a mistyped name far more often than a question.

    Raises:
        ValueError: there is no such collection (the message lists those there are).
        AccessDenied: ``user`` may not read it (to a user who is not an administrator, a
            collection that does not exist looks the same as another's).
    """
    name = docent.settings.collection
    if name in docent.library.collections():
        return docent.collection(user=user)
    if user is not None and not user.admin:
        raise AccessDenied(f"{user.name} has no access to a collection named {name!r}")
    known = ", ".join(docent.library.collections()) or "none yet"
    where = "the shared library" if docent.library.shared else docent.settings.data_dir
    raise ValueError(
        f"no collection {name!r} in {where} (collections: {known}); "
        f"add documents to it with `python -m ingest FILES --collection {name}`"
    )


def acting_user(docent: Docent, name: str | None) -> User:
    """``--user NAME`` (who must exist), or the local administrator."""
    if name is None:
        return User.local()
    user = docent.accounts.user(name)
    if user is None:
        raise AccessDenied(f"no user named {name!r}")
    return user


def run(args: argparse.Namespace) -> int:
    """Search or ask; returns the exit code."""
    if bool((args.question or "").strip()) == bool(args.questions):
        print("error: give a question or --questions FILE (not both)", file=sys.stderr)
        return 2
    try:
        docent = Docent(settings_from(args))
        user = acting_user(docent, args.user)
        answerer, collection = docent.answerer(), existing_collection(docent, user)
        questions = read_questions(args.questions) if args.questions else [args.question]
        as_json = args.json or args.questions is not None
        failed = False
        for question in questions:
            if args.command == "search":
                _print_search(answerer.search(question, collection, args.k), as_json)
            else:
                stream = answerer.ask(question, collection, k=args.k)
                if as_json:
                    for _ in stream:
                        pass
                    print(json.dumps(stream.result.to_dict(), default=str))
                else:
                    for delta in stream:
                        print(delta, end="", flush=True)
                    _print_answer_notes(stream.result)
                failed = failed or stream.result.mode == "error"
        return 1 if failed else 0  # a script must see that a question went unanswered
    except USER_ERRORS as exc:
        return report(exc)


def _print_search(result: SearchResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for n, p in enumerate(result.passages, start=1):
        s = p.scores
        graded = f"  llm {s.llm:.0f}/10" if s.llm is not None else ""
        print(
            f"[{n}] {p.label}   rerank {_fmt(s.rerank)}  dense {_fmt(s.dense)}  "
            f"bm25 {_fmt(s.bm25)}  fused #{s.fused_rank}{graded}"
        )
        print("    " + " ".join(p.text.split())[:300] + "\n")


def _print_answer_notes(r: AnswerResult) -> None:
    if r.answer and r.mode == "llm":
        print(f"\n\n({len(r.citations)} citations kept, {r.removed_citations} removed)", end="")
    sources = [p.to_dict(n) for n, p in enumerate(r.sources, start=1)]
    print("\n\nSources:" if sources else "\n")
    for source, label in zip(sources, source_labels(sources), strict=True):
        print(f"  [{source['number']}] {label}")
    model = f", model {r.model}" if r.model else ""
    if r.error:  # after a partial answer, the text above does not say what went wrong
        print(f"error: {r.error}", file=sys.stderr)
    print(
        f"\nmode {r.mode}{model}, reranker {r.reranker}"
        + "".join(f"\nwarning: {w}" for w in r.warnings)
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
