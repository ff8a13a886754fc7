"""Refusal on small collections: what a user sees after uploading one short document.

The development sets are whole manuals of hundreds of chunks, so the answerability model and
its threshold were only ever measured there. Here every answerable question of a set gets a
collection of its own that holds just its answer: the few PDF pages around its gold page, or
its one HTML page. Each such collection is asked three questions:

- its own question (answered there: should be answered, and the answer span shown);
- another question of the same set whose answer lies elsewhere in the manual (on topic, but
  not in this collection: should be refused);
- one of the set's unanswerable questions (should be refused).

    python -m bench.small [--split tune|report] [--sets rman,pgsql,gnuplot] [--limit N]

Prints refused-answerable, refused-unanswerable (both kinds) and the answer span for each
offline reranker, on the same collections in the same run.
"""

from __future__ import annotations

import argparse
import io
import platform
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from tqdm import tqdm

from bench.sets import DATA, GNUPLOT_PDF, PG_HTML, REPO
from ingest.pipeline import Source, ingest_sources
from rag.collection import Collection
from rag.config import Settings
from rag.evaluate import evaluate
from rag.questions import Question, read_qa
from rag.system import Docent

PAGES_AROUND = 2  # pages kept either side of the gold pages: a short chapter
FILES = {
    "R-intro.pdf": REPO / "tests" / "data" / "R-intro.pdf",
    "R-admin.pdf": REPO / "tests" / "data" / "R-admin.pdf",
    "R-exts.pdf": DATA / "R-exts.pdf",
    "gnuplot.pdf": GNUPLOT_PDF,
}
SPLITS = {
    ("rman", "tune"): "rexts-tune.jsonl",
    ("rman", "report"): "rman-dev.jsonl",
    ("pgsql", "tune"): "pg-tune.jsonl",
    ("pgsql", "report"): "pg-report.jsonl",
    ("gnuplot", "report"): "gnuplot-check.jsonl",  # the check set has a report split only
}
RERANKERS = ("learned", "none", "maxsim")


@dataclass(frozen=True)
class Unit:
    """Where a question's answer is: a file, and its 1-based pages (empty for HTML)."""

    doc: str
    pages: tuple[int, ...]


def unit_of(q: Question) -> Unit:
    """The file and pages of a QA question's gold units (``file#page`` or ``file``)."""
    doc = next(iter(q.gold)).split("#")[0]
    pages = sorted(int(u.split("#")[1]) for u in q.gold if "#" in u)
    return Unit(doc, tuple(pages))


def kept_pages(unit: Unit) -> range:
    """The pages of ``unit``'s file its small collection holds (may run past the end): from
    its first gold page to its last, two more either side. A few questions have gold pages
    far apart (an index entry and the section), and their collection is a whole chapter."""
    return range(max(1, unit.pages[0] - PAGES_AROUND), unit.pages[-1] + PAGES_AROUND + 1)


def small_source(unit: Unit) -> Source:
    """The collection's one file: the PDF pages around the gold pages, or the HTML page."""
    if not unit.pages:
        return Source.from_path(PG_HTML / unit.doc)
    reader = PdfReader(FILES[unit.doc])
    writer = PdfWriter()
    for n in kept_pages(unit):
        if n <= len(reader.pages):
            writer.add_page(reader.pages[n - 1])
    buffer = io.BytesIO()
    writer.write(buffer)
    return Source.from_bytes(unit.doc, buffer.getvalue())


def elsewhere(unit: Unit, other: Unit) -> bool:
    """Whether ``other``'s answer is outside ``unit``'s small collection, by a margin of
    three pages (a section can run on)."""
    if other.doc != unit.doc or not unit.pages:
        return other.doc != unit.doc
    kept = kept_pages(unit)
    return all(p < kept.start - 3 or p >= kept.stop + 3 for p in other.pages)


@dataclass
class Tally:
    """Counts over every small collection, for one reranker."""

    asked: dict[str, int] = field(default_factory=lambda: {"own": 0, "other": 0, "none": 0})
    refused: dict[str, int] = field(default_factory=lambda: {"own": 0, "other": 0, "none": 0})
    spans: list[bool] = field(default_factory=list)

    def row(self, name: str) -> str:
        """One table row."""

        def rate(kind: str) -> str:
            return f"{self.refused[kind] / self.asked[kind]:.2f}" if self.asked[kind] else "–"

        span = f"{sum(self.spans) / len(self.spans):.2f}" if self.spans else "–"
        return f"| {name} | {rate('own')} | {rate('other')} | {rate('none')} | {span} |"


def cases(questions: list[Question]) -> Iterator[tuple[Question, Question, Question]]:
    """(own, other, unanswerable) for each answerable question: the next answerable question
    whose answer lies elsewhere, and the set's unanswerable questions in turn (a split has
    fewer of them than answerable ones, so each is asked of several collections)."""
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    if not unanswerable:
        raise SystemExit("bench.small needs a split with unanswerable questions")
    for i, q in enumerate(answerable):
        others = answerable[i + 1 :] + answerable[:i]
        other = next((o for o in others if elsewhere(unit_of(q), unit_of(o))), None)
        if other is not None:  # a set whose every answer is on the same pages has none
            yield q, other, unanswerable[i % len(unanswerable)]


def small_collections(
    docent: Docent, name: str, split: str, limit: int = 0
) -> Iterator[tuple[Collection, list[Question]]]:
    """Each small collection of the set's split (built in ``docent``'s data folder) with its
    three questions: its own, one from elsewhere (as unanswerable) and an unanswerable one."""
    questions = read_qa(DATA / SPLITS[(name, split)])
    todo = list(cases(questions))[: limit or None]
    for n, (own, other, none) in enumerate(tqdm(todo, desc=f"{name} ({split})")):
        collection = docent.collection(f"small-{n}")
        source = small_source(unit_of(own))
        [result] = ingest_sources([source], collection, docent.embedder, docent.settings)
        if result.status != "indexed":
            raise SystemExit(f"{source.name}: {result.status} {result.reason}")
        yield collection, [own, _unanswerable(other), none]


def measure(name: str, split: str, limit: int) -> dict[str, Tally]:
    """Every offline reranker over the set's small collections."""
    tallies = {r: Tally() for r in RERANKERS}
    with tempfile.TemporaryDirectory() as tmp:
        docent = Docent(Settings(data_dir=Path(tmp), collection="small", _env_file=None))
        for collection, asked in small_collections(docent, name, split, limit):
            for reranker in RERANKERS:
                settings = docent.settings.model_copy(update={"reranker": reranker})
                report = evaluate(docent.answerer(settings), collection, asked)
                tally = tallies[reranker]
                for kind, row in zip(("own", "other", "none"), report.details, strict=True):
                    tally.asked[kind] += 1
                    tally.refused[kind] += row["mode"] == "not-found"
                    if kind == "own" and "span" in row:
                        tally.spans.append(bool(row["span"]))
        docent.close()
    return tallies


def _unanswerable(q: Question) -> Question:
    """``q`` as a question the small collection does not answer."""
    return Question(q.id, q.text, {}, [])


def main() -> None:
    """Print a table per set."""
    parser = argparse.ArgumentParser(prog="python -m bench.small")
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--sets", default="rman,pgsql", help="rman, pgsql, gnuplot (report)")
    parser.add_argument("--limit", type=int, default=0, help="first N collections of each set")
    args = parser.parse_args()
    print(f"split: {args.split}; machine: {platform.machine()}, Python {platform.python_version()}")
    for name in args.sets.split(","):
        if (name, args.split) not in SPLITS:
            raise SystemExit(f"{name} has no {args.split} split")
        tallies = measure(name, args.split, args.limit)
        print(
            f"\n### {name} ({args.split}): {tallies['learned'].asked['own']} small collections\n\n"
            "| reranker | refused own question | refused question from elsewhere "
            "| refused unanswerable | answer span |\n|---|---|---|---|---|"
        )
        for reranker, tally in tallies.items():
            print(tally.row(reranker), flush=True)


if __name__ == "__main__":
    main()
