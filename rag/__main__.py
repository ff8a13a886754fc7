"""``python -m rag search|ask``: ranked passages, or a streamed, cited answer, from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import rag  # noqa: F401 - offline environment first
from rag.answer import Answerer
from rag.config import Settings, get_settings
from rag.errors import USER_ERRORS, report
from rag.llm import ChatLLM
from rag.prompt import source_label
from rag.retrieve import Passage
from rag.runtime import open_library


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (("search", "ranked passages"), ("ask", "a grounded, cited answer")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("question", nargs="?", help="the question (or use --questions)")
        cmd.add_argument(
            "--questions", type=Path, help="JSONL with a 'question' field, or one question per line"
        )
        cmd.add_argument("--collection", help="collection (default: DOCENT_COLLECTION)")
        cmd.add_argument("--data-dir", type=Path, help="data folder (default: ./data)")
        cmd.add_argument("--k", type=int, help="passages to return / give to the answer")
        cmd.add_argument("--json", action="store_true", help="one JSON object per result")
    return p


def read_questions(path: Path) -> list[str]:
    """Questions from a JSONL file (``question`` field) or a plain file, one per line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            out.append(str(json.loads(line)["question"]))
        else:
            out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    if bool(args.question) == bool(args.questions):
        print("error: give a question or --questions FILE (not both)", file=sys.stderr)
        return 2
    overrides = {
        k: v for k, v in {"collection": args.collection, "data_dir": args.data_dir}.items() if v
    }
    try:
        settings = Settings(**overrides) if overrides else get_settings()
        library, embedder = open_library(settings)
        wants_llm = args.command == "ask" or settings.reranker == "llm"
        llm = ChatLLM(settings) if settings.llm_configured and wants_llm else None
        answerer = Answerer(settings, library, embedder, llm)
        questions = read_questions(args.questions) if args.questions else [args.question]
        batch = args.questions is not None
        for question in questions:
            if args.command == "search":
                _search(answerer, settings, question, args.k, args.json or batch)
            else:
                _ask(answerer, settings, question, args.k, args.json or batch)
        return 0
    except USER_ERRORS as exc:
        return report(exc)


def _passage_json(n: int, p: Passage) -> dict[str, object]:
    from dataclasses import asdict

    return {
        "number": n,
        "source": p.source,
        "page": p.page,
        "headings": p.headings,
        "text": p.text,
        "scores": asdict(p.scores),
    }


def _search(
    answerer: Answerer, settings: Settings, question: str, k: int | None, as_json: bool
) -> None:
    timings: dict[str, float] = {}
    warnings = list(answerer.warnings)
    passages, _ = answerer.search(
        question, settings.collection, k, timings=timings, warnings=warnings
    )
    if as_json:
        print(
            json.dumps(
                {
                    "question": question,
                    "reranker": answerer.reranker.name,
                    "warnings": warnings,
                    "results": [_passage_json(n, p) for n, p in enumerate(passages, 1)],
                    "timings_ms": {k: round(v * 1000, 1) for k, v in timings.items()},
                }
            )
        )
        return
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for n, p in enumerate(passages, start=1):
        s = p.scores
        graded = f"  llm {s.llm:.0f}/10" if s.llm is not None else ""
        print(
            f"[{n}] {source_label(p)}   rerank {_fmt(s.rerank)}  dense {_fmt(s.dense)}  "
            f"bm25 {_fmt(s.bm25)}  fused #{s.fused_rank}{graded}"
        )
        print("    " + " ".join(p.text.split())[:300] + "\n")


def _ask(
    answerer: Answerer, settings: Settings, question: str, k: int | None, as_json: bool
) -> None:
    stream = answerer.ask(question, settings.collection, k=k)
    if as_json:
        _drain(stream)
        print(json.dumps(stream.result.to_dict(), default=str))
        return
    for delta in stream:
        print(delta, end="", flush=True)
    r = stream.result
    if r.answer and r.mode == "llm":
        print(f"\n\n({len(r.citations)} citations kept, {r.removed_citations} removed)", end="")
    print("\n\nSources:")
    for n, p in enumerate(r.sources, start=1):
        print(f"  [{n}] {source_label(p)}")
    model = f", model {r.model}" if r.model else ""
    print(
        f"\nmode {r.mode}{model}, reranker {r.reranker}"
        + "".join(f"\nwarning: {w}" for w in r.warnings)
    )


def _drain(stream: Iterator[str]) -> None:
    for _ in stream:
        pass


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
