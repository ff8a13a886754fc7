"""Two classic IR test collections as check sets, read from the files they are published in.

- **npl** (also "Vaswani"): 11,429 short physics and electronics abstracts (no titles),
  93 queries, 2,083 judgments, in TREC format, as Terrier ships it:
  ``share/vaswani_npl/`` of https://github.com/terrier-org/terrier-core
  (``corpus/doc-text.trec``, ``query-text.trec``, ``qrels``).
- **cacm**: 3,204 titles of *Communications of the ACM* articles, 1,587 with an abstract,
  64 queries of which 52 are judged (796 judgments), in SMART format, as lucene4ir ships it:
  ``data/cacm/`` of https://github.com/lucene4ir/lucene4ir (``cacm.all``, ``query.text``,
  ``qrels.text``).

Both come from the University of Glasgow's collection of IR test collections
(http://ir.dcs.gla.ac.uk/resources/test_collections/), published for research use; they are
read where they are, not copied into this repository. Like the held-out collections this
project is checked on (of the same origin and kind), nothing is tuned on them.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.questions import Question, parse_qrels

Rows = list[tuple[str, str, str]]  # (id, title, text), as ingest.beir.read_corpus returns


def read_npl(root: Path) -> tuple[Rows, list[Question]]:
    """The documents and judged queries of NPL in Terrier's TREC files under ``root``."""
    docs = re.findall(
        r"<DOC>\s*<DOCNO>\s*(\S+?)\s*</DOCNO>(.*?)</DOC>",
        (root / "corpus" / "doc-text.trec").read_text(encoding="utf-8"),
        re.S,
    )
    topics = re.findall(
        r"<num>\s*(\S+?)\s*</num>\s*<title>(.*?)</title>",
        (root / "query-text.trec").read_text(encoding="utf-8"),
        re.S,
    )
    judged = parse_qrels((root / "qrels").read_text(encoding="utf-8"), "qrels")  # TREC's
    rows = [(i, "", " ".join(text.split())) for i, text in docs]
    return rows, _questions(topics, judged)


def read_cacm(root: Path) -> tuple[Rows, list[Question]]:
    """The documents (title and abstract) and judged queries of CACM in SMART files."""
    records = _smart(root / "cacm.all")
    rows = [(i, r.get("T", ""), r.get("W", "")) for i, r in records.items()]
    topics = [(str(int(i)), r.get("W", "")) for i, r in _smart(root / "query.text").items()]
    judged: dict[str, dict[str, int]] = {}
    for line in (root / "qrels.text").read_text(encoding="utf-8").splitlines():
        if line.strip():  # query-id, doc-id, 0, 0: every pair listed is relevant
            qid, did = line.split()[:2]
            judged.setdefault(str(int(qid)), {})[did] = 1
    return rows, _questions(topics, judged)


def _smart(path: Path) -> dict[str, dict[str, str]]:
    """SMART records: ``.I id`` then fields (``.T`` title, ``.W`` text, ...) of one line
    each, their text in the lines below."""
    records: dict[str, dict[str, str]] = {}
    for block in re.split(r"^\.I ", path.read_text(encoding="latin-1"), flags=re.M)[1:]:
        head, *lines = block.split("\n")
        fields: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in lines:
            if re.fullmatch(r"\.[A-Z]\s*", line):
                current = fields.setdefault(line.strip()[1], [])
            elif current is not None:
                current.append(line)
        records[head.strip()] = {k: " ".join(" ".join(v).split()) for k, v in fields.items()}
    return records


def _questions(topics: list[tuple[str, str]], judged: dict[str, dict[str, int]]) -> list[Question]:
    """The judged topics as questions (those nobody judged are left out, as BEIR does)."""
    return [Question(i, " ".join(t.split()), judged[i]) for i, t in topics if i in judged]
