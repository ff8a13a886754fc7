"""BEIR SciFact loading and scoring for the retrieval benchmark (standard protocol)."""

from __future__ import annotations

import json
import math
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "scifact"


def corpus() -> list[dict[str, str]]:
    """The 5,183 abstracts: ``_id``, ``title``, ``text``."""
    return [json.loads(line) for line in (DATA / "corpus.jsonl").open()]


def queries() -> dict[str, str]:
    """Query id -> claim text."""
    return {q["_id"]: q["text"] for q in map(json.loads, (DATA / "queries.jsonl").open())}


def qrels(split: str = "test") -> dict[str, dict[str, int]]:
    """Query id -> {doc id: relevance}."""
    out: dict[str, dict[str, int]] = {}
    lines = (DATA / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
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
