"""Check the QA and negation sets in this folder against the documents they cite.

    python bench/data/check_qa.py                  # every QA and negation set in this folder
    python bench/data/check_qa.py rexts-tune.jsonl # just the named files

For each answerable QA row (``answer`` not null) the answer, or one of its
``answer_aliases``, must occur verbatim

* in a PDF: on one of the listed ``pages`` (1-based physical pages) of the text that
  PDFium extracts (pypdfium2 ``get_text_range()`` per page), after joining words
  hyphenated at line ends, normalising curly quotes to straight ones and collapsing
  whitespace (a hyphenated line-end break is accepted both joined, "Unixalikes", and
  with its hyphen, "Unix-alikes");
* in an HTML file: in its visible text (BeautifulSoup, without script/style/head),
  whitespace collapsed, curly quotes normalised.  HTML rows have ``pages: null``.

It also checks the shape of every row (ids unique, unanswerable rows with ``pages: []``,
pages inside the document, HTML documents listed in pg-files.txt), flags questions that
appear in more than one split, and, for negation.jsonl, checks docs and page ranges.
Matching is case-sensitive.  Failures are printed; the exit status is 1 if any.

Needs only pypdfium2 and beautifulsoup4.  PDFs are looked up in
--pdf-dir if given, else in this folder, in tests/data and in /usr/share/doc/gnuplot (Debian's
gnuplot-doc); HTML in --html-dir (default /usr/share/doc/postgresql-doc-15/html).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
# R-exts here; R-intro, R-admin there; the gnuplot manual where Debian's gnuplot-doc puts it
PDF_DIRS = [HERE, HERE.parent.parent / "tests" / "data", Path("/usr/share/doc/gnuplot")]
DEFAULT_HTML_DIR = Path("/usr/share/doc/postgresql-doc-15/html")
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
SOFT_BREAK = re.compile("\ufffe\\s*")  # PDFium's marker for a word hyphenated at a line end


def pdf_path(folder: str | None, name: str) -> Path:
    """A PDF by name: in ``folder`` if given, else in this repository's copies."""
    if folder:
        return Path(folder) / name
    return next((d / name for d in PDF_DIRS if (d / name).exists()), PDF_DIRS[0] / name)


def collapse(text: str) -> str:
    return " ".join(text.translate(QUOTES).split())


@cache
def pdf_pages(path: Path) -> tuple[tuple[str, str], ...]:
    """Per page: (text with hyphenated words joined, text with the hyphen kept)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    pages = []
    for i in range(len(pdf)):
        raw = pdf[i].get_textpage().get_text_range()
        pages.append((collapse(SOFT_BREAK.sub("", raw)), collapse(SOFT_BREAK.sub("-", raw))))
    pdf.close()
    return tuple(pages)


@cache
def html_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes().decode("utf-8", "replace"), "html.parser")
    for tag in soup.find_all(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    return collapse(soup.get_text(""))


def check_qa_row(row: dict, where: str, args, html_allowed: set[str] | None) -> list[str]:
    errors = []
    for key in ("id", "question", "answer", "doc", "pages"):
        if key not in row:
            errors.append(f"{where}: missing field '{key}'")
    if errors:
        return errors
    if not isinstance(row["question"], str) or not row["question"].strip():
        errors.append(f"{where}: empty question")
    if row["answer"] is None:
        if row["pages"] != []:
            errors.append(f"{where}: unanswerable row must have pages []")
        if row.get("answer_aliases"):
            errors.append(f"{where}: unanswerable row has answer_aliases")
        return errors
    doc = row["doc"]
    wanted = [row["answer"], *row.get("answer_aliases", [])]
    wanted = [collapse(w) for w in wanted]
    if not doc:
        return errors + [f"{where}: answerable row without doc"]
    if doc.lower().endswith(".pdf"):
        path = pdf_path(args.pdf_dir, doc)
        if not path.exists():
            return errors + [f"{where}: no such PDF {path}"]
        pages = pdf_pages(path)
        if not row["pages"] or not all(isinstance(p, int) for p in row["pages"]):
            return errors + [f"{where}: pages must be a non-empty list of ints"]
        bad = [p for p in row["pages"] if not 1 <= p <= len(pages)]
        if bad:
            return errors + [f"{where}: pages {bad} outside 1..{len(pages)}"]
        found = [p for p in row["pages"] if any(w in t for w in wanted for t in pages[p - 1])]
        if not found:
            elsewhere = [
                i + 1 for i, pair in enumerate(pages) if any(w in t for w in wanted for t in pair)
            ]
            errors.append(
                f"{where}: answer {row['answer']!r} not on pages {row['pages']} of {doc}"
                f" (found on {elsewhere[:12] or 'no page'})"
            )
        elif len(found) < len(row["pages"]):
            missing = sorted(set(row["pages"]) - set(found))
            print(
                f"  note {where}: answer not on listed page(s) {missing} (ok if they hold the rest)"
            )
    else:
        if row["pages"] is not None:
            errors.append(f"{where}: HTML rows must have pages null")
        if html_allowed is not None and doc not in html_allowed:
            errors.append(f"{where}: {doc} is not in pg-files.txt")
        path = Path(args.html_dir) / doc
        if not path.exists():
            return errors + [f"{where}: no such HTML file {path}"]
        text = html_text(path)
        if not any(w in text for w in wanted):
            errors.append(f"{where}: answer {row['answer']!r} not in the visible text of {doc}")
    return errors


def check_negation_row(row: dict, where: str, args) -> list[str]:
    keys = ("id", "doc", "query", "pages", "negated", "negated_pages")
    errors = [f"{where}: missing field '{k}'" for k in keys if k not in row]
    if errors:
        return errors
    path = pdf_path(args.pdf_dir, row["doc"])
    if not path.exists():
        return [f"{where}: no such PDF {path}"]
    n = len(pdf_pages(path))
    if not row["pages"]:
        errors.append(f"{where}: the plain query needs at least one page")
    for key in ("pages", "negated_pages"):
        bad = [p for p in row[key] if not (isinstance(p, int) and 1 <= p <= n)]
        if bad:
            errors.append(f"{where}: {key} {bad} outside 1..{n}")
    if row["query"].strip() == row["negated"].strip():
        errors.append(f"{where}: query and negated are identical")
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="JSONL files (default: every *.jsonl here)")
    parser.add_argument("--pdf-dir", help="where the PDFs are (default: this repo's copies)")
    parser.add_argument("--html-dir", default=str(DEFAULT_HTML_DIR))
    args = parser.parse_args()
    files = [Path(f) if Path(f).exists() else HERE / f for f in args.files] or sorted(
        p for p in HERE.glob("*.jsonl") if not p.name.startswith("attribution")
    )
    listing = HERE / "pg-files.txt"
    html_allowed = None
    if listing.exists():
        html_allowed = {line.strip() for line in listing.read_text().splitlines() if line.strip()}
        missing = [f for f in sorted(html_allowed) if not (Path(args.html_dir) / f).exists()]
        if missing:
            print(f"pg-files.txt: {len(missing)} files missing from {args.html_dir}: {missing[:5]}")
    failures = 0
    seen_questions: dict[str, str] = {}
    for path in files:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        ids = [r.get("id") for r in rows]
        dup_ids = sorted({i for i in ids if ids.count(i) > 1})
        errors = [f"{path.name}: duplicate ids {dup_ids}"] if dup_ids else []
        if path.name.startswith("negation"):
            for row in rows:
                errors += check_negation_row(row, f"{path.name}:{row.get('id')}", args)
            summary = f"{len(rows)} pairs"
        else:
            for row in rows:
                where = f"{path.name}:{row.get('id')}"
                errors += check_qa_row(row, where, args, html_allowed)
                key = " ".join(str(row.get("question", "")).lower().split())
                if key in seen_questions and seen_questions[key] != path.name:
                    errors.append(f"{where}: same question also in {seen_questions[key]}")
                seen_questions.setdefault(key, path.name)
            unanswerable = sum(r.get("answer") is None for r in rows)
            answerable = len(rows) - unanswerable
            summary = f"{len(rows)} rows: {answerable} answerable, {unanswerable} unanswerable"
        for e in errors:
            print("FAIL", e)
        failures += len(errors)
        print(f"{path.name}: {summary}, {len(errors)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
