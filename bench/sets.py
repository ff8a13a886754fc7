"""The development sets: a collection each, a tuning split and a report split.

- scifact: BEIR SciFact, 5,183 abstracts (``--scifact DIR``); tune on the train qrels (809
  queries), report on the test qrels (300).
- rman: R-intro, R-admin and R-exts (PDF, GPL) in one collection; tune on
  ``rexts-tune.jsonl`` (152 questions), report on ``rman-dev.jsonl`` (70).
- pgsql: the SQL command reference of PostgreSQL 15's HTML manual, 184 pages; tune on
  ``pg-tune.jsonl`` (72), report on ``pg-report.jsonl`` (72).

Settings are chosen on tuning splits only; report splits are for reporting.

**Check sets** stand in for the collections nobody tuned on: gnuplot, questions over the
gnuplot manual (PDF), written before any run over it; and, given their folders, two classic IR
test collections of the held-out kind, NPL and CACM (bench/classic.py). They have a report
split only, so no tuning, training or leave-one-out code ever sees them (:func:`check_sets`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.classic import read_cacm, read_npl
from ingest.beir import beir_sources, read_corpus
from ingest.pipeline import Source
from rag.questions import Question, read_beir, read_qa

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parent
PG_HTML = Path("/usr/share/doc/postgresql-doc-15/html")  # Debian's postgresql-doc-15
GNUPLOT_PDF = Path("/usr/share/doc/gnuplot/gnuplot.pdf")  # Debian's gnuplot-doc


@dataclass
class DevSet:
    """One development set."""

    name: str
    beir: bool
    sources: Callable[[], Iterator[Source]]
    tune: Callable[[], list[Question]]
    report: Callable[[], list[Question]]

    def split(self, name: str) -> list[Question]:
        """``tune`` or ``report``."""
        return self.tune() if name == "tune" else self.report()


def scifact(root: Path) -> DevSet:
    """BEIR SciFact: one Markdown document per abstract, its title as heading."""

    def sources() -> Iterator[Source]:
        return beir_sources(read_corpus(root / "corpus.jsonl"))  # as `ingest --beir` does

    def split(name: str) -> Callable[[], list[Question]]:
        return lambda: read_beir(root / "queries.jsonl", root / "qrels" / f"{name}.tsv")

    return DevSet("scifact", True, sources, split("train"), split("test"))


def rman() -> DevSet:
    """Three R manuals in one collection (two kept for the tests, one for the benchmarks)."""
    paths = [REPO / "tests" / "data" / "R-intro.pdf", REPO / "tests" / "data" / "R-admin.pdf"]
    paths.append(DATA / "R-exts.pdf")

    def sources() -> Iterator[Source]:
        yield from (Source.from_path(p) for p in paths)

    return DevSet(
        "rman",
        False,
        sources,
        lambda: read_qa(DATA / "rexts-tune.jsonl"),
        lambda: read_qa(DATA / "rman-dev.jsonl"),
    )


def pg() -> DevSet:
    """The SQL command reference of PostgreSQL 15's HTML manual (``apt-get install
    postgresql-doc-15``)."""

    def sources() -> Iterator[Source]:
        if not PG_HTML.is_dir():
            raise SystemExit(f"{PG_HTML} is missing: apt-get install postgresql-doc-15")
        for name in (DATA / "pg-files.txt").read_text().split():
            yield Source.from_path(PG_HTML / name)

    return DevSet(
        "pgsql",
        False,
        sources,
        lambda: read_qa(DATA / "pg-tune.jsonl"),
        lambda: read_qa(DATA / "pg-report.jsonl"),
    )


def gnuplot() -> DevSet:
    """The check set: the gnuplot 5.4 manual (``apt-get install gnuplot-doc``); asking for
    its tuning split is an error, because it has none."""

    def sources() -> Iterator[Source]:
        if not GNUPLOT_PDF.is_file():
            raise SystemExit(f"{GNUPLOT_PDF} is missing: apt-get install gnuplot-doc")
        yield Source.from_path(GNUPLOT_PDF)

    def no_tuning() -> list[Question]:
        raise SystemExit("gnuplot is a check set: it has no tuning split (use --split report)")

    return DevSet(
        "gnuplot", False, sources, no_tuning, lambda: read_qa(DATA / "gnuplot-check.jsonl")
    )


def classic(name: str, root: Path) -> DevSet:
    """NPL or CACM (bench/classic.py) as a check set: read once, one Markdown document per
    record as ``ingest --beir`` makes them, and no tuning split."""
    reader = {"npl": read_npl, "cacm": read_cacm}[name]
    if not root.is_dir():
        raise SystemExit(f"{root} is not a folder (bench/classic.py says where {name} is)")
    rows, questions = reader(root)

    def no_tuning() -> list[Question]:
        raise SystemExit(f"{name} is a check set: it has no tuning split (use --split report)")

    return DevSet(name, True, lambda: beir_sources(rows), no_tuning, lambda: questions)


def check_sets(npl_dir: Path | None = None, cacm_dir: Path | None = None) -> list[DevSet]:
    """The sets nothing is tuned on (report split only): gnuplot, and NPL and CACM where
    their folders are given."""
    folders = {"npl": npl_dir, "cacm": cacm_dir}
    return [gnuplot()] + [classic(n, d) for n, d in folders.items() if d is not None]


def all_sets(scifact_dir: Path | None) -> list[DevSet]:
    """Every development set whose data is here (SciFact only with its folder); the check
    sets are not among them."""
    sets = [rman(), pg()]
    if scifact_dir is not None:
        sets.insert(0, scifact(scifact_dir))
    return sets
