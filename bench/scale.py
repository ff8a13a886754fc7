"""Scale benchmark: one collection grown to 10k, 100k and 1M chunks through the store path.

    python -m bench.scale --scifact DIR [--sizes 10000 100000 1000000] [--out bench/out/scale]

Text and vectors: a base of real chunks (R-intro and R-admin from tests/data, and SciFact
abstracts as Markdown) is embedded once by the real pipeline. Each synthetic chunk joins the
first half of one base chunk's sentences to the second half of another's (real words, a new
text); its vector is the normalised mean of the two parents' vectors plus Gaussian noise
(sigma 0.02 per dimension), its sentence vectors are the parents' rows for those sentences.
So these are *reused and perturbed* vectors, not new encodings (1M encodings would take about
six hours here); nothing about retrieval *quality* is measured on them.

Documents of 50 chunks are written with ``Collection.add_documents`` in batches of 20 (the same
crash-safe path as ingest, without encoding). At each size the builder brings BM25 up to date,
adds one more 50-chunk document and times that; then a fresh process opens the library and
answers questions (SciFact train claims and R-manual tuning questions) with the default
pipeline, and reports start-up time, per-stage latency and its memory. Prints a Markdown table
and writes ``bench/scale.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import scifact
from rag.chunks import ChunkMeta, ChunkRecord, chunk_id
from rag.collection import Collection
from rag.config import Settings
from rag.database import open_database
from rag.docstore import DocStore, DocumentRecord
from rag.evaluate import percentile
from rag.system import Docent

REPO = Path(__file__).resolve().parent.parent
PER_DOC = 50  # chunks per synthetic document
DOCS_PER_WRITE = 20  # documents per add_documents call (1,000 chunks)
NOISE = 0.02


def settings(data_dir: Path, collection: str) -> Settings:
    """Bench settings: an embedded store in ``data_dir``."""
    return Settings(data_dir=data_dir, collection=collection, _env_file=None)


# -- the base: real chunks, embedded once -------------------------------------------------------
def base_chunks(out: Path, scifact_dir: Path, abstracts: int) -> list[ChunkRecord]:
    """Real chunks with their vectors (cached in ``out/base``)."""
    from ingest.pipeline import Source, ingest_sources

    docent = Docent(settings(out / "base", "base"))
    collection = docent.collection()
    if not collection.documents():
        folder = out / "base-files"
        folder.mkdir(parents=True, exist_ok=True)
        rows = scifact.corpus(scifact.folder(scifact_dir))[:abstracts]
        for start in range(0, len(rows), 100):
            part = rows[start : start + 100]
            text = "\n".join(f"## {r['title']}\n\n{r['text']}\n" for r in part)
            (folder / f"scifact-{start:05d}.md").write_text(text)
        paths = sorted((REPO / "tests" / "data").glob("*.pdf")) + sorted(folder.glob("*.md"))
        sources = [Source.from_path(p) for p in paths]
        results = ingest_sources(sources, collection, docent.embedder, docent.settings)
        assert all(r.status == "indexed" for r in results), results
    chunks = [c for c in collection.rows.chunks() if len(c.meta.sentence_spans) >= 2]
    docent.close()
    return chunks


Blend = tuple[str, ChunkMeta, np.ndarray, np.ndarray | None]


def blend(a: ChunkRecord, b: ChunkRecord, rng: np.random.Generator) -> Blend:
    """A new chunk from the first half of ``a``'s sentences and the second half of ``b``'s."""
    ha, hb = len(a.meta.sentence_spans) // 2, len(b.meta.sentence_spans) // 2
    parts = [a.text[s:e] for s, e in a.meta.sentence_spans[:ha]]
    parts += [b.text[s:e] for s, e in b.meta.sentence_spans[hb:]]
    spans: list[tuple[int, int]] = []
    text = ""
    for part in parts:
        text += (" " if text else "") + part
        spans.append((len(text) - len(part), len(text)))
    vector = (a.vector + b.vector) / 2 + rng.normal(0, NOISE, a.vector.shape).astype(np.float32)
    vector /= np.linalg.norm(vector)
    sentences = None
    if a.sentence_vectors is not None and b.sentence_vectors is not None:
        sentences = np.vstack([a.sentence_vectors[:ha], b.sentence_vectors[hb:]])
    meta = ChunkMeta(source="", doc_id="", index=0, kind="text", sentence_spans=tuple(spans))
    return text, meta, vector.astype(np.float32), sentences


def synthetic_document(
    number: int, base: list[ChunkRecord], rng: np.random.Generator
) -> tuple[DocumentRecord, list[ChunkRecord]]:
    """Document ``number`` of ``PER_DOC`` blended chunks (its id depends only on ``number``)."""
    doc_id = hashlib.sha256(f"scale-{number}".encode()).hexdigest()
    name = f"synthetic-{number:07d}.txt"
    chunks = []
    for i in range(PER_DOC):
        a, b = base[rng.integers(len(base))], base[rng.integers(len(base))]
        text, meta, vector, sentences = blend(a, b, rng)
        meta = replace(meta, source=name, doc_id=doc_id, index=i)
        chunks.append(ChunkRecord(chunk_id(doc_id, i), text, meta, vector, sentences))
    size = sum(len(c.text) for c in chunks)
    return DocumentRecord(doc_id, name, "text", 0, PER_DOC, size, state="pending"), chunks


# -- growing the collection ---------------------------------------------------------------------
def grow(collection: Collection, base: list[ChunkRecord], target: int) -> dict[str, float]:
    """Add synthetic documents until the collection holds ``target`` chunks; time the writes."""
    have = sum(d.chunks for d in collection.documents())
    number = have // PER_DOC
    rng = np.random.default_rng(number)
    write_s, made_s, added = 0.0, 0.0, 0
    from tqdm import tqdm

    with tqdm(total=target, initial=have, unit="chunk", desc=f"to {target:,}") as bar:
        while have + added < target:
            t0 = time.perf_counter()
            batch = [synthetic_document(number + i, base, rng) for i in range(DOCS_PER_WRITE)]
            t1 = time.perf_counter()
            collection.add_documents(batch)
            write_s += time.perf_counter() - t1
            made_s += t1 - t0
            number += DOCS_PER_WRITE
            added += DOCS_PER_WRITE * PER_DOC
            bar.update(DOCS_PER_WRITE * PER_DOC)
    return {"added": added, "write_s": write_s}


def add_one(collection: Collection, base: list[ChunkRecord]) -> dict[str, float]:
    """Add one 50-chunk document (then delete it): write time and BM25 catch-up time."""
    number = 10**8 + int(time.time())
    doc = synthetic_document(number, base, np.random.default_rng(number))
    t0 = time.perf_counter()
    collection.add_documents([doc])
    t1 = time.perf_counter()
    collection.lexical()
    t2 = time.perf_counter()
    collection.delete_document(doc[0].doc_id)
    t3 = time.perf_counter()
    collection.lexical()
    t4 = time.perf_counter()
    return {
        "add_doc_s": t1 - t0,
        "add_bm25_s": t2 - t1,
        "delete_doc_s": t3 - t2,
        "delete_bm25_s": t4 - t3,
    }


def stored_chunks(data_dir: Path) -> int:
    """Chunks of ready documents in the store, read from the database alone (no Chroma client:
    the probe process opens the embedded Chroma, and two clients on one folder are unsafe)."""
    db = open_database(settings(data_dir, "scale"))
    try:
        return sum(d.chunks for d in DocStore(db).rows("scale").documents())
    finally:
        db.close()


def disk(data_dir: Path) -> dict[str, int]:
    """Bytes on disk: the durable copy (SQLite + WAL), Chroma, BM25."""

    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_blocks * 512
        return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())

    store = sum(size(p) for p in data_dir.glob("docent.sqlite*"))
    chroma = sum(size(p) for p in data_dir.iterdir() if p.is_dir() and "chroma" in p.name)
    return {"store_bytes": store, "chroma_bytes": chroma, "bm25_bytes": size(data_dir / "bm25")}


# -- querying, in a fresh process ---------------------------------------------------------------
def questions(scifact_dir: Path, n: int) -> list[str]:
    """SciFact train claims and R-manual tuning questions (never a report split)."""
    root = scifact.folder(scifact_dir)
    train = scifact.qrels(root, "train")
    claims = [q for qid, q in scifact.queries(root).items() if qid in train][: n // 2]
    rman = REPO / "bench" / "data" / "rexts-tune.jsonl"
    asked = [json.loads(line)["question"] for line in rman.open()][: n - len(claims)]
    return claims + asked


def probe(data_dir: Path, collection: str, asked: list[str]) -> dict[str, float]:
    """Open the library as a new process would and answer ``asked``; times and memory."""
    t0 = time.perf_counter()
    docent = Docent(settings(data_dir, collection))
    t1 = time.perf_counter()
    docent.search(asked[0], k=5)  # the first question loads BM25 and Chroma's index
    t2 = time.perf_counter()
    stages: dict[str, list[float]] = {"total": []}
    for question in asked[1:]:
        start = time.perf_counter()
        result = docent.search(question, k=5)
        stages["total"].append(time.perf_counter() - start)
        for name, seconds in result.timings.items():
            stages.setdefault(name, []).append(seconds)
    docent.close()
    out = {"open_s": t1 - t0, "first_query_s": t2 - t1}
    for name, values in stages.items():
        out[f"{name}_p50_ms"] = 1000 * percentile(values, 0.50)
        out[f"{name}_p95_ms"] = 1000 * percentile(values, 0.95)
    out["rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ``ru_maxrss``: on Linux a child started by
    fork + exec reports its parent's peak there if that was higher."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_probe(data_dir: Path, collection: str, scifact_dir: Path, n: int) -> dict[str, float]:
    """:func:`probe` in a child process (a cold start, and its own peak memory)."""
    cmd = [sys.executable, "-m", "bench.scale", "--probe", str(data_dir)]
    cmd += ["--collection", collection, "--scifact", str(scifact_dir), "--questions", str(n)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


def chroma_text_cost(data_dir: Path, n: int = 20_000) -> None:
    """Print what keeping chunk text in Chroma costs: ``n`` stored chunks written to a fresh
    embedded Chroma with and without ``documents=`` (bytes per chunk, chunks per second)."""
    import tempfile

    import chromadb

    db = open_database(settings(data_dir, "scale"))
    rows = DocStore(db).rows("scale")
    ids = sorted(rows.chunk_ids())[:n]
    chunks = list(rows.load(ids).values())
    db.close()
    print("| Chroma gets | chunks/s | bytes per chunk |\n|---|---|---|")
    for with_text in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            client = chromadb.PersistentClient(
                path=folder, settings=chromadb.Settings(anonymized_telemetry=False)
            )
            index = client.create_collection(
                "cost", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
            start = time.perf_counter()
            for i in range(0, len(chunks), 1000):
                part = chunks[i : i + 1000]
                index.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=np.stack([c.vector for c in part]),
                    metadatas=[c.meta.to_chroma() for c in part],
                    documents=[c.text for c in part] if with_text else None,
                )
            rate = len(chunks) / (time.perf_counter() - start)
            size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
            label = "vectors, metadata and text" if with_text else "vectors and metadata"
            print(f"| {label} | {rate:,.0f} | {size / len(chunks):,.0f} |")


# -- the report ---------------------------------------------------------------------------------
COLUMNS = [
    ("chunks", "chunks", "{:,}"),
    ("write_chunks_per_s", "writes, chunks/s (no encoding)", "{:,.0f}"),
    ("store_b_per_chunk", "durable copy, B/chunk", "{:,.0f}"),
    ("chroma_b_per_chunk", "Chroma, B/chunk", "{:,.0f}"),
    ("bm25_b_per_chunk", "BM25, B/chunk", "{:,.0f}"),
    ("bm25_segments", "BM25 segments", "{}"),
    ("bm25_build_s", "BM25 catch-up after growing, s", "{:.1f}"),
    ("add_doc_s", "add one doc: write, s", "{:.2f}"),
    ("add_bm25_s", "add one doc: BM25, s", "{:.2f}"),
    ("delete_bm25_s", "delete it: BM25, s", "{:.2f}"),
    ("open_s", "start-up: open library, s", "{:.1f}"),
    ("first_query_s", "start-up: first question, s", "{:.1f}"),
    ("embed_p50_ms", "query embed p50 ms", "{:.0f}"),
    ("dense_p50_ms", "dense p50 / p95 ms", "{:.0f}"),
    ("bm25_p50_ms", "BM25 p50 / p95 ms", "{:.0f}"),
    ("fuse_p50_ms", "fuse + load p50 ms", "{:.0f}"),
    ("rerank_p50_ms", "second pass p50 ms", "{:.0f}"),
    ("total_p50_ms", "search p50 / p95 ms", "{:.0f}"),
    ("build_rss_mb", "peak RSS, builder MB", "{:,.0f}"),
    ("rss_mb", "peak RSS, searcher MB", "{:,.0f}"),
]


def table(rows: list[dict[str, float]]) -> str:
    """The rows as a Markdown table, one column per size."""
    head = "| | " + " | ".join(f"{int(r['chunks']):,}" for r in rows) + " |"
    lines = [head, "|---|" + "---:|" * len(rows)]
    for key, label, fmt in COLUMNS[1:]:
        cells = []
        for r in rows:
            cell = fmt.format(r[key]) if key in r else "–"
            p95 = key.replace("p50", "p95")
            if "p50" in key and "/" in label and p95 in r:
                cell += " / " + fmt.format(r[p95])
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, float]], path: Path) -> None:
    """Latency per stage and bytes per chunk against collection size (log x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["chunks"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    stages = [("total", "search"), ("dense", "dense"), ("bm25", "BM25"), ("fuse", "fuse + load")]
    stages.append(("rerank", "2nd pass"))
    for key, label in stages:
        left.plot(sizes, [r[f"{key}_p50_ms"] for r in rows], marker="o", label=f"{label} p50")
    left.plot(sizes, [r["total_p95_ms"] for r in rows], "k--", marker="x", label="search p95")
    left.axhline(100, color="grey", lw=0.8)
    left.set(xscale="log", xlabel="chunks", ylabel="ms", title="Query latency")
    left.legend(fontsize=8)
    parts = [("store", "durable copy"), ("chroma", "Chroma"), ("bm25", "BM25")]
    for key, label in parts:
        right.plot(sizes, [r[f"{key}_b_per_chunk"] / 1024 for r in rows], marker="o", label=label)
    right.set(xscale="log", xlabel="chunks", ylabel="KiB per chunk", title="Disk per chunk")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Grow the collection size by size, measure at each, print the table, draw the plot."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--scifact", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "scale")
    parser.add_argument("--abstracts", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=101)
    parser.add_argument("--report", action="store_true", help="table and plot from results.jsonl")
    parser.add_argument(
        "--reprobe", action="store_true", help="measure the queries again on the store as it is"
    )
    parser.add_argument(
        "--chroma-text", action="store_true", help="what chunk text in Chroma costs"
    )
    parser.add_argument("--base", type=Path, help="where the base chunks are (default: OUT/base)")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--collection", default="scale", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        asked = questions(args.scifact, args.questions)
        print(json.dumps(probe(args.probe, args.collection, asked)))
        return
    results = args.out / "results.jsonl"
    if args.report:
        report([json.loads(line) for line in results.open()])
        return
    if args.chroma_text:
        chroma_text_cost(args.out / "store")
        return
    if args.reprobe:
        rows = [json.loads(line) for line in results.open()]
        size = stored_chunks(args.out / "store")
        row = next(r for r in reversed(rows) if r["chunks"] == size)
        row |= run_probe(args.out / "store", "scale", args.scifact, args.questions)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        report([*rows, row])
        return
    base = base_chunks(args.base or args.out, args.scifact, args.abstracts)
    print(f"base: {len(base):,} real chunks with two or more sentences", flush=True)
    data_dir = args.out / "store"
    rows: list[dict[str, float]] = []
    for size in sorted(args.sizes):
        docent = Docent(settings(data_dir, "scale"))
        collection = docent.collection()
        grown = grow(collection, base, size)
        t0 = time.perf_counter()
        collection.lexical()
        row: dict[str, float] = {"chunks": size, "bm25_build_s": time.perf_counter() - t0}
        if grown["added"]:
            row["write_chunks_per_s"] = grown["added"] / grown["write_s"]
        row["bm25_segments"] = len(collection.lexical().segments)
        row.update(add_one(collection, base))
        row["build_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        docent.close()
        for key, value in disk(data_dir).items():
            row[key.replace("_bytes", "_b_per_chunk")] = value / size
        row.update(run_probe(data_dir, "scale", args.scifact, args.questions))
        rows.append(row)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(table(rows), flush=True)
    report(rows)


def report(rows: list[dict[str, float]]) -> None:
    """Print the table (the last run of each size) and draw the plot."""
    latest = {int(r["chunks"]): r for r in rows}
    rows = [latest[size] for size in sorted(latest)]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\nmachine: {machine}\n")
    print(table(rows))
    plot(rows, REPO / "bench" / "scale.png")


if __name__ == "__main__":
    main()
