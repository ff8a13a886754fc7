"""Ingest benchmark: pipeline throughput vs raw ``model.encode`` on the very same chunks.

    python bench/ingest.py [--synthetic-chunks 10000] [--skip-synthetic] [--repeat N]

With ``--repeat N`` each corpus is ingested N times into fresh stores and the fastest pipeline
run and the fastest raw encode are compared (best-of-N: this shared machine's speed drifts by
10-15% between minutes).

Corpora: the R manuals in ../shared/data/pdfs, and a synthetic Markdown corpus built from SciFact
abstracts (real text) sized to about N chunks. Prints a Markdown table; paste it into
bench/README.md with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402,F401 - offline environment first
from ingest.pipeline import Source, ingest_sources  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embeddings import passage_text  # noqa: E402
from rag.runtime import open_library  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def synthetic_corpus(folder: Path, chunks: int) -> list[Path]:
    """Markdown files of SciFact abstracts (a heading each), ~``chunks`` chunks in all."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in (DATA / "scifact" / "corpus.jsonl").open()]
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
    settings = Settings(data_dir=data_dir, collection="bench", _env_file=None)
    library, embedder = open_library(settings)
    embedder.encode(["warm up the model"] * 8)
    sources = [Source.from_path(p) for p in paths]
    start = time.perf_counter()
    results = ingest_sources(sources, "bench", library, embedder, settings)
    pipeline_s = time.perf_counter() - start
    assert all(r.status == "indexed" for r in results), results
    chunks = list(library.docs.chunks("bench"))
    texts = [passage_text(c.text, c.meta.get("headings") or []) for c in chunks]
    start = time.perf_counter()
    embedder.encode(texts)
    raw_s = time.perf_counter() - start
    library.close()
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = sorted((DATA / "pdfs").glob("*.pdf"))
        runs = [
            run("R manuals (3 PDFs)", pdfs, Path(tmp) / f"pdfs-{i}") for i in range(args.repeat)
        ]
        rows.append(best_of(runs))
        if not args.skip_synthetic:
            files = synthetic_corpus(Path(tmp) / "synthetic", args.synthetic_chunks)
            name = f"synthetic (~{args.synthetic_chunks} chunks)"
            runs = [run(name, files, Path(tmp) / f"synth-{i}") for i in range(args.repeat)]
            rows.append(best_of(runs))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.machine()}, {platform.system()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}\n"
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
