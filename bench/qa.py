"""Question answering on the R manuals: retrieval and refusal, offline.

    python -m bench.qa --pdfs DIR --questions FILE

Ingests R-intro.pdf and R-admin.pdf (from DIR) into bench/out/rman (reused), then per question
of FILE (QA lines: ``question``, ``answer`` or null, ``doc``, ``pages``): is a gold page among
the top 5 passages, does the offline (extractive) answer contain the answer span, and what is
the best rerank score. It sweeps the "not in your documents" threshold over those scores and
prints refusal rates on unanswerable vs answerable questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ingest.pipeline import Source, ingest_sources
from rag.config import Settings
from rag.extractive import extractive_answer
from rag.system import Docent

OUT = Path(__file__).resolve().parent / "out" / "rman"
COLLECTION = "rman"
PDFS = ("R-intro.pdf", "R-admin.pdf")


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("‘", "'").replace("’", "'").split())


def main() -> None:
    """Ingest (once), evaluate each reranker, print tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.qa")
    parser.add_argument("--pdfs", type=Path, required=True, help="folder with the R manual PDFs")
    parser.add_argument("--questions", type=Path, required=True, help="QA JSONL file")
    args = parser.parse_args()
    missing = [n for n in PDFS if not (args.pdfs / n).is_file()]
    if missing or not args.questions.is_file():
        sys.exit(f"need {', '.join(PDFS)} in --pdfs and a --questions file: missing {missing}")
    docent = Docent(Settings(data_dir=OUT, collection=COLLECTION, _env_file=None))
    collection = docent.collection()
    have = {d.name for d in collection.documents()}
    todo = [Source.from_path(args.pdfs / n) for n in PDFS if n not in have]
    if todo:
        ingest_sources(todo, collection, docent.embedder, docent.settings)
    rows = [json.loads(line) for line in args.questions.open()]
    print(f"{len(rows)} questions ({sum(r['answer'] is None for r in rows)} unanswerable)\n")
    print(
        "| reranker | gold page in top 5 | answer span in extractive answer | "
        "threshold | refused unanswerable | refused answerable |"
    )
    print("|---|---|---|---|---|---|")
    for name in ("none", "maxsim"):
        answerer = docent.answerer(docent.settings.model_copy(update={"reranker": name}))
        hits, spans, best, answerable = [], [], [], []
        for row in rows:
            found = answerer.search(row["question"], collection, 5)
            passages = found.passages
            best.append(max((p.scores.rerank or 0.0 for p in passages), default=0.0))
            answerable.append(row["answer"] is not None)
            if row["answer"] is None:
                continue
            hits.append(any(p.source == row["doc"] and p.page in row["pages"] for p in passages))
            answer = _norm(extractive_answer(found.query_vector, passages))
            wanted = [row["answer"], *row.get("answer_aliases", [])]
            spans.append(any(_norm(w) in answer.replace("\\", "") for w in wanted))
        scores, ok = np.array(best), np.array(answerable)
        threshold_default = answerer.reranker.threshold
        for threshold in sorted({threshold_default, *np.round(np.arange(0.30, 0.66, 0.05), 2)}):
            refused = scores < threshold
            mark = " (default)" if threshold == threshold_default else ""
            print(
                f"| {name} | {np.mean(hits):.2f} | {np.mean(spans):.2f} | "
                f"{threshold:.2f}{mark} | {refused[~ok].mean():.2f} | {refused[ok].mean():.2f} |"
            )
        print(
            f"\n{name}: best score answerable median {np.median(scores[ok]):.3f}, "
            f"unanswerable median {np.median(scores[~ok]):.3f}\n"
        )


if __name__ == "__main__":
    main()
