"""Attribution on answers a real local LLM wrote (after `python -m bench.llm`), re-run offline.

    python -m bench.attribution_llm [--split tune|report] [--config learned]

Reads bench/out/llm/<answers file>-<config>.jsonl, loads each answer's sources from the bench
store, and attributes every sentence again, with and without the question's own words set
aside (``rag.attribution.attribute(question=...)``). An answer holding the gold span is taken
as right, one without it (or any answer to an unanswerable question) as wrong; a good checker
supports the sentences of right answers and flags those of wrong ones. Prints a table.
"""

from __future__ import annotations

import argparse
import json

from bench.llm import OUT, SPLITS
from rag.attribution import attribute
from rag.config import Settings
from rag.passage import Passage
from rag.system import Docent


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.attribution_llm")
    parser.add_argument("--split", choices=sorted(SPLITS), default="tune")
    parser.add_argument("--config", default="learned")
    args = parser.parse_args()
    split = SPLITS[args.split]
    rows = [
        json.loads(line)
        for line in (OUT / f"{split.prefix}-{args.config}.jsonl").open(encoding="utf-8")
    ]
    rows = [r for r in rows if r["mode"] == "llm" and r["sources"]]
    docent = Docent(Settings(data_dir=OUT / "store", collection=split.collection, _env_file=None))
    collection = docent.collection()
    tally: dict[tuple[str, str], list[bool]] = {}
    for r in rows:
        records = collection.load([s["chunk_id"] for s in r["sources"]])
        sources = [Passage(records[s["chunk_id"]]) for s in r["sources"]]
        right = bool(r["bench"]["span"])
        for variant, question in (("answer only", ""), ("question set aside", r["query"])):
            supports = attribute(r["answer"], sources, docent.embedder, question=question)
            key = (variant, "right" if right else "wrong")
            tally.setdefault(key, []).extend(s.supported for s in supports)
    docent.close()
    print(f"{len(rows)} answers written by the LLM ({args.split} split, {args.config})\n")
    print(
        "| attribution | sentences of right answers supported | sentences of wrong answers "
        "flagged |\n|---|---|---|"
    )
    for variant in ("answer only", "question set aside"):
        right, wrong = tally.get((variant, "right"), []), tally.get((variant, "wrong"), [])
        ok = f"{sum(right) / len(right):.2f} ({sum(right)}/{len(right)})" if right else "–"
        flagged = sum(not x for x in wrong)
        bad = f"{flagged / len(wrong):.2f} ({flagged}/{len(wrong)})" if wrong else "–"
        print(f"| {variant} | {ok} | {bad} |")


if __name__ == "__main__":
    main()
