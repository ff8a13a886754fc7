"""Question answering on the R manuals (../shared/data/qa/dev.jsonl): retrieval and refusal.

    python bench/qa.py

Ingests R-intro.pdf and R-admin.pdf into bench/out/rman (reused), then per question: is a
gold page among the top 5 passages, does the offline (extractive) answer contain the answer
span, and what is the best rerank score. It sweeps the "not in your documents" threshold over
those scores and prints refusal rates on unanswerable vs answerable questions, which is how
each reranker's default threshold in rag/rerank.py was chosen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import rag  # noqa: E402,F401
from ingest.pipeline import Source, ingest_sources  # noqa: E402
from rag.answer import Answerer  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.extractive import extractive_answer  # noqa: E402
from rag.rerank import MaxSimReranker, NoReranker, Reranker  # noqa: E402
from rag.runtime import open_library  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "rman"
COLLECTION = "rman"


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("‘", "'").replace("’", "'").split())


def main() -> None:
    """Ingest (once), evaluate each reranker, print tables."""
    settings = Settings(data_dir=OUT, collection=COLLECTION, _env_file=None)
    library, embedder = open_library(settings)
    have = {d.name for d in library.documents(COLLECTION)}
    pdfs = [DATA / "pdfs" / n for n in ("R-intro.pdf", "R-admin.pdf") if n not in have]
    if pdfs:
        ingest_sources([Source.from_path(p) for p in pdfs], COLLECTION, library, embedder, settings)
    rows = [json.loads(line) for line in (DATA / "qa" / "dev.jsonl").open()]
    rerankers: list[Reranker] = [NoReranker(library.docs), MaxSimReranker(library.docs)]
    print(
        f"dev QA: {len(rows)} questions ({sum(r['answer'] is None for r in rows)} unanswerable)\n"
    )
    print(
        "| reranker | gold page in top 5 | answer span in extractive answer | "
        "threshold | refused unanswerable | refused answerable |"
    )
    print("|---|---|---|---|---|---|")
    for reranker in rerankers:
        answerer = Answerer(settings, library, embedder, reranker=reranker)
        hits, spans, best, answerable = [], [], [], []
        for row in rows:
            passages, vector = answerer.search(row["question"], COLLECTION, 5)
            best.append(max((p.scores.rerank or 0.0 for p in passages), default=0.0))
            answerable.append(row["answer"] is not None)
            if row["answer"] is None:
                continue
            hits.append(any(p.source == row["doc"] and p.page in row["pages"] for p in passages))
            answer = _norm(extractive_answer(vector, passages, library.docs, COLLECTION))
            wanted = [row["answer"], *row.get("answer_aliases", [])]
            spans.append(any(_norm(w) in answer.replace("\\", "") for w in wanted))
        scores, ok = np.array(best), np.array(answerable)
        for threshold in sorted({reranker.threshold, *np.round(np.arange(0.30, 0.66, 0.05), 2)}):
            refused = scores < threshold
            mark = " (default)" if threshold == reranker.threshold else ""
            print(
                f"| {reranker.name} | {np.mean(hits):.2f} | {np.mean(spans):.2f} | "
                f"{threshold:.2f}{mark} | {refused[~ok].mean():.2f} | {refused[ok].mean():.2f} |"
            )
        print(
            f"\n{reranker.name}: best score answerable median {np.median(scores[ok]):.3f}, "
            f"unanswerable median {np.median(scores[~ok]):.3f}\n"
        )


if __name__ == "__main__":
    main()
