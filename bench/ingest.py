"""Ingest benchmark: pipeline throughput vs raw ``model.encode`` on the very same chunks.

    python bench/ingest.py [--synthetic-chunks 10000] [--skip-synthetic]

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
    pages = sum(r.pages for r in results)
    return {
        "corpus": name,
        "files": len(paths),
        "pages": pages or "–",
        "chunks": len(chunks),
        "pipeline_s": pipeline_s,
        "pages_per_s": pages / pipeline_s if pages else "–",
        "chunks_per_s": len(chunks) / pipeline_s,
        "raw_encode_chunks_per_s": len(chunks) / raw_s,
        "ratio": (len(chunks) / pipeline_s) / (len(chunks) / raw_s),
    }


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            run("R manuals (3 PDFs)", sorted((DATA / "pdfs").glob("*.pdf")), Path(tmp) / "pdfs")
        )
        if not args.skip_synthetic:
            files = synthetic_corpus(Path(tmp) / "synthetic", args.synthetic_chunks)
            rows.append(
                run(f"synthetic (~{args.synthetic_chunks} chunks)", files, Path(tmp) / "synth")
            )
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
