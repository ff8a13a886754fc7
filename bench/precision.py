"""Passage vectors kept smaller in the durable copy: bytes against retrieval quality.

    python -m bench.precision --scifact DIR [--split report|tune] [--sets scifact,rman]
                              [--limit N] [--plot bench/precision.png]

Each set is indexed once through Docent's own pipeline under bench/out/precision/ (reused by
later runs). The float32 passage vectors are read back from the durable copy and turned into
each variant: float16; int8 with one float32 scale per vector (symmetric: ``scale = max|x| /
127``, codes rounded); the first 256 or 128 dimensions, renormalised (all-MiniLM-L6-v2 was not
trained to be cut, so this measures the loss); and 128 dimensions in int8. Queries are never
stored, so they stay float32 (cut to the variant's dimensions and renormalised). A variant's
score is the dot product of the query with the vector as read back (dequantised).

Three ways of ranking, each measured for every variant; a unit (SciFact document, manual page)
ranks by its best chunk:

- **dense**: exact search over every chunk with the variant's vectors alone;
- **rescored**: Docent's fused candidates (Chroma, float32, and BM25, 100 each, RRF k=20:
  ``rag.retrieve``) ordered by the variant's cosine alone;
- **default**: the same candidates through the learned second pass (Docent's default), its
  passage-vector features computed with the variant (sentence vectors as stored, float16).

Prints Markdown tables and draws quality against bytes per vector (``--plot``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from bench.sets import DevSet, rman, scifact
from ingest.pipeline import ingest_sources
from rag.config import Settings
from rag.evaluate import hit_at, mrr_at, ndcg_at, passage_unit
from rag.learned import LearnedReranker
from rag.passage import Passage
from rag.questions import Question
from rag.retrieve import SearchOptions, retrieve
from rag.system import Docent

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "precision"
PLOT = HERE / "precision.png"
BATCH = 200  # files per ingest call
MODES = ("dense", "rescored", "default")
METRICS = {"scifact": ("nDCG@10",), "rman": ("hit@1", "MRR@10")}  # what each set reports
PLOTTED = {"scifact": "nDCG@10", "rman": "MRR@10"}


@dataclass(frozen=True)
class Variant:
    """How a passage vector is kept: its dimensions and its number type."""

    name: str
    dims: int
    kind: Literal["float32", "float16", "int8"]

    @property
    def bytes(self) -> int:
        """Bytes per vector, the int8 scale (float32) included."""
        size = {"float32": 4, "float16": 2, "int8": 1}[self.kind]
        return self.dims * size + (4 if self.kind == "int8" else 0)

    def stored(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` (unit float32 rows) as this variant would read them back, in float32."""
        cut = truncate(vectors, self.dims)
        if self.kind == "float16":
            return cut.astype(np.float16).astype(np.float32)
        if self.kind == "int8":
            return dequantise(*quantise(cut))
        return cut

    def query(self, vectors: np.ndarray) -> np.ndarray:
        """Query vectors for this variant: float32, cut and renormalised."""
        return truncate(vectors, self.dims)


VARIANTS = (
    Variant("float32 (stored now)", 384, "float32"),
    Variant("float16", 384, "float16"),
    Variant("int8, scale per vector", 384, "int8"),
    Variant("float32, first 256 dims", 256, "float32"),
    Variant("float32, first 128 dims", 128, "float32"),
    Variant("int8, first 128 dims", 128, "int8"),
)


def truncate(vectors: np.ndarray, dims: int) -> np.ndarray:
    """The first ``dims`` columns of each row, back to unit length (float32)."""
    cut = np.asarray(vectors, dtype=np.float32)[..., :dims]
    norms = np.linalg.norm(cut, axis=-1, keepdims=True)
    return cut / np.maximum(norms, 1e-12)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes and one float32 scale per row (``max|x| / 127``)."""
    scales = np.abs(vectors).max(axis=1, keepdims=True).astype(np.float32) / 127.0
    codes = np.clip(np.rint(vectors / np.maximum(scales, 1e-12)), -127, 127).astype(np.int8)
    return codes, scales


def dequantise(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The float32 rows int8 ``codes`` and their ``scales`` stand for."""
    return codes.astype(np.float32) * scales


# -- the data of one set ------------------------------------------------------------------------
@dataclass
class SetRun:
    """One set, read once: its chunks' vectors and units, its questions, their candidates."""

    name: str
    chunk_ids: list[str]
    units: list[str]  # the unit of each chunk
    vectors: np.ndarray  # float32 passage vectors as stored, one row per chunk
    questions: list[Question]  # answerable ones (the metrics are over them)
    query_vectors: np.ndarray  # as Docent embeds a question (float32, unit)
    candidates: list[list[Passage]]  # Docent's fused candidates per question
    chunk_bytes: dict[str, float]  # mean bytes per chunk in the durable copy, by part

    @cached_property
    def index(self) -> dict[str, int]:
        """Row number of each chunk id in :attr:`vectors`."""
        return {cid: i for i, cid in enumerate(self.chunk_ids)}

    def rows(self, passages: list[Passage]) -> np.ndarray:
        """Row numbers of ``passages``' chunks in :attr:`vectors`."""
        return np.array([self.index[p.chunk_id] for p in passages], dtype=np.int64)


def docent_for(dev: DevSet) -> Docent:
    """Docent over the set's collection under bench/out/precision/ (built the first time)."""
    settings = Settings(data_dir=OUT / dev.name, collection=dev.name, _env_file=None)
    docent = Docent(settings)
    collection = docent.collection()
    done = OUT / dev.name / "complete"
    if not done.is_file():  # files already indexed are skipped: an interrupted build resumes
        from tqdm import tqdm

        sources = list(dev.sources())
        bar = tqdm(total=len(sources), desc=f"indexing {dev.name}")
        for start in range(0, len(sources), BATCH):
            part = sources[start : start + BATCH]
            ingest_sources(part, collection, docent.embedder, settings)
            bar.update(len(part))
        bar.close()
        done.write_text("built\n")
    collection.lexical()
    return docent


def read_set(dev: DevSet, split: str, limit: int, timings: dict[str, float]) -> SetRun:
    """Index ``dev`` if needed; read its vectors, embed its questions, retrieve candidates."""
    start = time.perf_counter()
    docent = docent_for(dev)
    collection = docent.collection()
    timings[f"{dev.name}: open (or index)"] = time.perf_counter() - start

    start = time.perf_counter()
    ready = {d.doc_id for d in collection.documents()}
    chunks = [c for c in collection.rows.chunks() if c.doc_id in ready]
    ids = [c.chunk_id for c in chunks]
    units = [passage_unit(Passage(c), dev.beir) for c in chunks]
    vectors = np.stack([c.vector for c in chunks]).astype(np.float32)
    sizes = {
        "text + metadata": np.mean([len(c.text.encode()) + len(c.meta.to_json()) for c in chunks]),
        "passage vector (float32)": float(vectors.shape[1] * 4),
        "sentence vectors (float16)": np.mean(
            [0 if c.sentence_vectors is None else c.sentence_vectors.nbytes for c in chunks]
        ),
    }
    timings[f"{dev.name}: read {len(chunks):,} chunks"] = time.perf_counter() - start

    questions = [q for q in dev.split(split) if q.answerable][: limit or None]
    start = time.perf_counter()
    # one question at a time, as Docent embeds it (batching pads, and could move the vector)
    queries = np.stack([docent.embedder.encode([q.text])[0] for q in questions])
    timings[f"{dev.name}: embed {len(questions)} questions"] = time.perf_counter() - start

    start = time.perf_counter()
    options = SearchOptions.from_settings(docent.settings)
    candidates = [
        retrieve(collection, q.text, v, options) for q, v in zip(questions, queries, strict=True)
    ]
    timings[f"{dev.name}: retrieve candidates"] = time.perf_counter() - start
    docent.close()
    return SetRun(dev.name, ids, units, vectors, questions, queries, candidates, sizes)


# -- ranking ------------------------------------------------------------------------------------
def metrics(ranked: list[str], gold: dict[str, int]) -> dict[str, float]:
    """The three figures of one ranking of units."""
    return {
        "hit@1": hit_at(ranked, gold, 1),
        "MRR@10": mrr_at(ranked, gold, 10),
        "nDCG@10": ndcg_at(ranked, gold, 10),
    }


def dense_units(scores: np.ndarray, unit_ids: np.ndarray, names: list[str]) -> list[str]:
    """The 100 best units when each ranks by its best chunk's score."""
    best = np.full(len(names), -np.inf, dtype=np.float32)
    np.maximum.at(best, unit_ids, scores)
    return [names[i] for i in np.argsort(-best, kind="stable")[:100]]


def for_features(stored: np.ndarray, query: np.ndarray, variant: Variant) -> np.ndarray:
    """Rows the learned pass can dot with the full 384-d query and get the variant's cosine.

    A cut vector is padded with zeros and divided by the norm of the query's first ``dims``
    components, so ``row @ query`` equals the cut query's cosine with the cut vector.
    """
    if variant.dims == stored.shape[1] == query.shape[0]:
        return stored
    padded = np.zeros((len(stored), query.shape[0]), dtype=np.float32)
    padded[:, : variant.dims] = stored
    return padded / max(float(np.linalg.norm(query[: variant.dims])), 1e-12)


def measure(run: SetRun, variant: Variant, learned: LearnedReranker) -> dict[str, dict[str, float]]:
    """Mean figures of each mode (:data:`MODES`) for ``variant`` on ``run``."""
    stored = variant.stored(run.vectors)
    queries = variant.query(run.query_vectors)
    names = sorted(set(run.units))
    position = {u: i for i, u in enumerate(names)}
    unit_ids = np.array([position[u] for u in run.units])
    dense_scores = queries @ stored.T
    totals: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for i, q in enumerate(run.questions):
        totals["dense"].append(metrics(dense_units(dense_scores[i], unit_ids, names), q.gold))
        found = run.candidates[i]
        rows = run.rows(found)
        sims = stored[rows] @ queries[i]
        order = np.argsort(-sims, kind="stable")  # ties keep the fused order
        rescored = list(dict.fromkeys(run.units[rows[j]] for j in order))
        totals["rescored"].append(metrics(rescored, q.gold))
        feature_rows = for_features(stored[rows], run.query_vectors[i], variant)
        copies = [
            Passage(dataclasses.replace(p.chunk, vector=v), dataclasses.replace(p.scores))
            for p, v in zip(found, feature_rows, strict=True)
        ]
        reranked = learned.rerank(q.text, run.query_vectors[i], copies)
        default = list(dict.fromkeys(run.units[j] for j in run.rows(reranked)))
        totals["default"].append(metrics(default, q.gold))
    return {
        mode: {m: float(np.mean([r[m] for r in rows_])) for m in ("hit@1", "MRR@10", "nDCG@10")}
        for mode, rows_ in totals.items()
    }


def fused_order(run: SetRun) -> dict[str, float]:
    """The figures of the fused order itself (no second pass), for reference."""
    rows = [
        metrics(list(dict.fromkeys(run.units[j] for j in run.rows(found))), q.gold)
        for q, found in zip(run.questions, run.candidates, strict=True)
    ]
    return {m: float(np.mean([r[m] for r in rows])) for m in ("hit@1", "MRR@10", "nDCG@10")}


def fidelity(runs: list[SetRun], variant: Variant) -> str:
    """Min / mean cosine of the read-back vectors to the stored float32 ones, over every set's
    chunks (same dimensions only)."""
    vectors = np.concatenate([run.vectors for run in runs])
    if variant.dims != vectors.shape[1]:
        return "–"
    stored = variant.stored(vectors)
    cos = np.sum(stored * vectors, axis=1) / np.linalg.norm(stored, axis=1)
    return f"{cos.min():.6f} / {cos.mean():.6f}"


# -- output -------------------------------------------------------------------------------------
def cell(value: float, base: float, first: bool) -> str:
    """``0.655`` for the baseline row, ``0.652 (-0.003)`` for the others."""
    return f"{value:.3f}" if first else f"{value:.3f} ({value - base:+.3f})"


def size(n: float) -> str:
    """Bytes in MB or GB."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def table(
    runs: list[SetRun], results: dict[str, dict[str, dict[str, dict[str, float]]]], modes: tuple
) -> str:
    """A Markdown table: a row per variant, a column per mode, set and metric."""
    cols = [(mode, run.name, m) for mode in modes for run in runs for m in METRICS[run.name]]
    head = ["variant", "bytes/vector", "1M chunks", "cos to float32 (min / mean)"]
    head += [f"{run} {m} {mode}" for mode, run, m in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = results[VARIANTS[0].name]
    for i, v in enumerate(VARIANTS):
        got = results[v.name]
        cells = [v.name, str(v.bytes), size(v.bytes * 1e6), fidelity(runs, v)]
        cells += [cell(got[r][mode][m], base[r][mode][m], i == 0) for mode, r, m in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(runs: list[SetRun], results: dict, path: Path) -> None:
    """Quality against bytes per vector: a panel per mode, a colour per set, a line style per
    family (lower precision at 384 dims; fewer dims in float32; int8 at 384 and 128 dims)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = {
        "384-d: float32, float16, int8": (VARIANTS[0], VARIANTS[1], VARIANTS[2]),
        "float32: 384, 256, 128 dims": (VARIANTS[0], VARIANTS[3], VARIANTS[4]),
        "int8: 384, 128 dims": (VARIANTS[2], VARIANTS[5]),
    }
    styles = dict(zip(families, ("-", "--", ":"), strict=True))
    colours = {"scifact": "tab:blue", "rman": "tab:orange"}
    titles = {
        "dense": "dense search, all chunks",
        "rescored": "fused candidates, rescored by cosine",
        "default": "fused candidates, learned second pass",
    }
    fig, axes = plt.subplots(1, len(MODES), figsize=(15, 5.4), sharex=True)
    for ax, mode in zip(axes, MODES, strict=True):
        for run in runs:
            metric = PLOTTED[run.name]
            for family, members in families.items():
                xs = [v.bytes for v in members]
                ys = [results[v.name][run.name][mode][metric] for v in members]
                ax.plot(xs, ys, styles[family], marker="o", color=colours[run.name], alpha=0.85)
        ax.set_xscale("log")
        ticks = sorted(VARIANTS, key=lambda v: v.bytes)
        ax.set_xticks([v.bytes for v in ticks], [f"{v.bytes}\n{v.kind}\n{v.dims}-d" for v in ticks])
        ax.minorticks_off()
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(titles[mode], fontsize=10)
        ax.set_xlabel("bytes per passage vector (log)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("quality")
    for run in runs:
        name = "SciFact" if run.name == "scifact" else "R manuals"
        axes[0].plot([], [], "-", color=colours[run.name], label=f"{name} {PLOTTED[run.name]}")
    for family, style in styles.items():
        axes[0].plot([], [], style, color="grey", label=family)
    fig.legend(fontsize=8, loc="lower center", ncol=5)
    fig.suptitle(
        "all-MiniLM-L6-v2 passage vectors kept smaller: quality against bytes", fontsize=11
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    """Index (once), read, measure every variant on every set; print the tables; plot."""
    parser = argparse.ArgumentParser(prog="python -m bench.precision")
    parser.add_argument("--scifact", type=Path, help="BEIR SciFact folder (else it is skipped)")
    parser.add_argument("--split", choices=["tune", "report"], default="report")
    parser.add_argument("--sets", help="comma-separated set names (default: scifact,rman)")
    parser.add_argument("--limit", type=int, default=0, help="first N answerable questions")
    parser.add_argument("--plot", type=Path, default=PLOT, help="PNG to write ('' for none)")
    args = parser.parse_args()
    wall = time.perf_counter()
    sets = [rman()] if args.scifact is None else [scifact(args.scifact), rman()]
    sets = [s for s in sets if not args.sets or s.name in args.sets.split(",")]
    timings: dict[str, float] = {}
    runs = [read_set(dev, args.split, args.limit, timings) for dev in sets]

    start = time.perf_counter()
    learned = LearnedReranker()
    results = {v.name: {run.name: measure(run, v, learned) for run in runs} for v in VARIANTS}
    timings["measure 6 variants x 3 modes"] = time.perf_counter() - start

    print(
        f"split: {args.split}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; answerable questions: "
        + ", ".join(f"{r.name} {len(r.questions)}, {len(r.chunk_ids):,} chunks" for r in runs)
        + "\n"
    )
    print("**Dense search and rescoring** (first stage unchanged: Chroma float32 + BM25)\n")
    print(table(runs, results, ("dense", "rescored")) + "\n")
    print("**Default pipeline** (learned second pass fed the variant's passage vectors)\n")
    print(table(runs, results, ("default",)) + "\n")
    print(
        "Reference, fused order with no second pass: "
        + "; ".join(
            f"{r.name} " + ", ".join(f"{m} {fused_order(r)[m]:.3f}" for m in METRICS[r.name])
            for r in runs
        )
        + "\n"
    )
    print("Mean bytes per chunk in the durable copy, as stored now:\n")
    print("| set | " + " | ".join(runs[0].chunk_bytes) + " |")
    print("|---|" + "---|" * len(runs[0].chunk_bytes))
    for r in runs:
        print(f"| {r.name} | " + " | ".join(f"{b:,.0f}" for b in r.chunk_bytes.values()) + " |")
    if str(args.plot) not in ("", "."):
        start = time.perf_counter()
        plot(runs, results, args.plot)
        timings["plot"] = time.perf_counter() - start
        print(f"\nplot: {args.plot}")
    timings["total"] = time.perf_counter() - wall
    print("\n| step | seconds |\n|---|---|")
    for step, seconds in timings.items():
        print(f"| {step} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
