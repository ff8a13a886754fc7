"""BEIR SciFact loading and scoring for the retrieval benchmark (standard protocol)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HOW = (
    "BEIR SciFact (corpus.jsonl, queries.jsonl, qrels/test.tsv, qrels/train.tsv; licence "
    "CC BY-NC 2.0): pass its folder with --scifact DIR"
)


def folder(path: Path | None) -> Path:
    """The SciFact folder, or exit with a message that says what is missing and how to fix it."""
    if path is None or not (path / "corpus.jsonl").is_file():
        where = f"not found in {path}" if path else "no folder given"
        sys.exit(f"SciFact {where}. {HOW}")
    return path


def corpus(root: Path) -> list[dict[str, str]]:
    """The 5,183 abstracts: ``_id``, ``title``, ``text``."""
    return [json.loads(line) for line in (root / "corpus.jsonl").open()]


def queries(root: Path) -> dict[str, str]:
    """Query id -> claim text."""
    return {q["_id"]: q["text"] for q in map(json.loads, (root / "queries.jsonl").open())}


def qrels(root: Path, split: str = "test") -> dict[str, dict[str, int]]:
    """Query id -> {doc id: relevance}."""
    out: dict[str, dict[str, int]] = {}
    lines = (root / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
    for line in lines:
        qid, did, score = line.strip().split("\t")
        out.setdefault(qid, {})[did] = int(score)
    return out


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (BEIR / pytrec_eval definition)."""
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int = 100) -> float:
    """Share of relevant documents in the top ``k``."""
    relevant = {d for d, r in rel.items() if r > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0
