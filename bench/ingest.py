"""Ingest benchmark: pipeline throughput vs raw ``model.encode`` on the very same chunks.

    python -m bench.ingest --pdfs DIR [--scifact DIR] [--synthetic-chunks 10000] [--repeat N]

With ``--repeat N`` each corpus is ingested N times into fresh stores and the fastest pipeline
run and the fastest raw encode are compared (best-of-N: this shared machine's speed drifts by
10-15% between minutes).

Corpora: the PDFs in ``--pdfs``, and (with ``--scifact``) a synthetic Markdown corpus built from
SciFact abstracts (real text) sized to about N chunks. Prints a Markdown table; paste it into
bench/README.md with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from bench import scifact
from ingest.pipeline import Source, ingest_sources
from rag.config import Settings
from rag.system import Docent


def synthetic_corpus(root: Path, folder: Path, chunks: int) -> list[Path]:
    """Markdown files of SciFact abstracts (a heading each), ~``chunks`` chunks in all."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in (root / "corpus.jsonl").open()]
    files, per_file, n = [], 50, 0
    while n * 2.2 < chunks:  # an abstract with its heading makes ~2.2 chunks (measured)
        part = rows[(n % len(rows)) : (n % len(rows)) + per_file]
        text = "\n".join(f"## {r['title']} ({n + i})\n\n{r['text']}\n" for i, r in enumerate(part))
        path = folder / f"part-{len(files):04d}.md"
        path.write_text(text)
        files.append(path)
        n += len(part)
    return files


def run(name: str, paths: list[Path], data_dir: Path) -> dict[str, float | str]:
    """Ingest ``paths`` then encode the same chunk texts raw; return the measurements."""
    docent = Docent(Settings(data_dir=data_dir, collection="bench", _env_file=None))
    embedder, collection = docent.embedder, docent.collection()
    embedder.encode(["warm up the model"] * 8)
    sources = [Source.from_path(p) for p in paths]
    start = time.perf_counter()
    results = ingest_sources(sources, collection, embedder, docent.settings)
    pipeline_s = time.perf_counter() - start
    assert all(r.status == "indexed" for r in results), results
    chunks = list(collection.rows.chunks())
    texts = [c.meta.embed_text(c.text) for c in chunks]
    start = time.perf_counter()
    embedder.encode(texts)
    raw_s = time.perf_counter() - start
    docent.close()
    pages = sum(r.pages for r in results)
    return row(name, len(paths), pages, len(chunks), pipeline_s, raw_s)


def best_of(runs: list[dict[str, float | str]]) -> dict[str, float | str]:
    """The fastest pipeline run against the fastest raw encode."""
    first = runs[0]
    pipeline_s = min(float(r["pipeline_s"]) for r in runs)
    raw_s = min(float(r["raw_s"]) for r in runs)
    pages = first["pages"] if isinstance(first["pages"], int) else 0
    name = f"{first['corpus']}, best of {len(runs)}" if len(runs) > 1 else str(first["corpus"])
    return row(name, int(first["files"]), pages, int(first["chunks"]), pipeline_s, raw_s)


def row(
    name: str, files: int, pages: int, chunks: int, pipeline_s: float, raw_s: float
) -> dict[str, float | str]:
    """One table row."""
    return {
        "corpus": name,
        "files": files,
        "pages": pages or "–",
        "chunks": chunks,
        "pipeline_s": pipeline_s,
        "raw_s": raw_s,
        "pages_per_s": pages / pipeline_s if pages else "–",
        "chunks_per_s": chunks / pipeline_s,
        "raw_encode_chunks_per_s": chunks / raw_s,
        "ratio": raw_s / pipeline_s,
    }


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--pdfs", type=Path, required=True, help="a folder of PDFs")
    parser.add_argument("--scifact", type=Path, help="SciFact, for the synthetic corpus")
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = sorted(args.pdfs.glob("*.pdf"))
        if not pdfs:
            raise SystemExit(f"no PDFs in {args.pdfs}")
        label = f"PDFs ({len(pdfs)})"
        runs = [run(label, pdfs, Path(tmp) / f"pdfs-{i}") for i in range(args.repeat)]
        rows.append(best_of(runs))
        if args.scifact:
            root = scifact.folder(args.scifact)
            files = synthetic_corpus(root, Path(tmp) / "synthetic", args.synthetic_chunks)
            name = f"synthetic (~{args.synthetic_chunks} chunks)"
            runs = [run(name, files, Path(tmp) / f"synth-{i}") for i in range(args.repeat)]
            rows.append(best_of(runs))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    cols = [
        "corpus",
        "files",
        "pages",
        "chunks",
        "pipeline_s",
        "pages_per_s",
        "chunks_per_s",
        "raw_encode_chunks_per_s",
        "ratio",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print(
            "| "
            + " | ".join(
                f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in cols
            )
            + " |"
        )
    print(f"\npeak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
