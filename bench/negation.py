"""Negation, the embedding blind spot: does "... not ..." find something else than "..."?

    python -m bench.negation [--reranker none,learned]

bench/data/negation.jsonl holds 37 pairs of queries over the R manuals that differ (almost)
only by a negation, with the pages that answer each side. For each pair and each second pass,
this counts how often the negated query puts the same unit (page) first as the plain one (on
the pairs whose gold pages differ, that is a mistake for one of the two), and the hit@1 of
each side. Uses the rman collection that bench.quality builds.
"""

from __future__ import annotations

import argparse
import json

from bench.quality import VARIANTS, docent_for
from bench.sets import DATA, rman
from rag.evaluate import ranked_units
from rag.questions import unit_key


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.negation")
    parser.add_argument("--reranker", default="none,maxsim", help="comma-separated second passes")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in (DATA / "negation.jsonl").open() if line.strip()]
    docent = docent_for(rman(), VARIANTS["default"])
    collection = docent.collection()
    print(
        "| second pass | pairs | same first unit (all) | same first unit (different gold) "
        "| hit@1 plain | hit@1 negated |\n|---|---|---|---|---|---|"
    )
    for name in args.reranker.split(","):
        answerer = docent.answerer(docent.settings.model_copy(update={"reranker": name}))
        same, same_differ, differ, hit_plain, hit_neg, judged_neg = 0, 0, 0, 0, 0, 0
        for pair in pairs:
            plain = ranked_units(answerer.search(pair["query"], collection, 50).passages, False)
            neg = ranked_units(answerer.search(pair["negated"], collection, 50).passages, False)
            gold = {unit_key(pair["doc"], p) for p in pair["pages"]}
            gold_neg = {unit_key(pair["doc"], p) for p in pair["negated_pages"]}
            same += plain[0] == neg[0]
            if gold_neg and not gold & gold_neg:
                differ += 1
                same_differ += plain[0] == neg[0]
            hit_plain += plain[0] in gold
            if gold_neg:
                judged_neg += 1
                hit_neg += neg[0] in gold_neg
        print(
            f"| {name} | {len(pairs)} | {same / len(pairs):.2f} | "
            f"{same_differ / max(differ, 1):.2f} ({differ} pairs) | {hit_plain / len(pairs):.2f} | "
            f"{hit_neg / max(judged_neg, 1):.2f} |"
        )
    docent.close()


if __name__ == "__main__":
    main()
