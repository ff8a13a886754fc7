"""Peak memory of indexing one large file: written a part at a time vs all at once.

    python -m bench.large_file --scifact DIR [--mb 10]

One plain-text file of SciFact abstracts (real text) of about ``--mb`` megabytes is indexed
into a fresh embedded store by the real pipeline, in a child process per run so that each
run's peak RSS is its own: once with today's parts (``PART_CHUNKS``) and once with parts
large enough to hold the whole file (how every file was written before). Prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from ingest.pipeline import PART_CHUNKS

CHILD = """
import json, resource, sys, time
from pathlib import Path
import ingest.pipeline as pipeline
from rag.config import Settings
from rag.system import Docent

pipeline.PART_CHUNKS = int(sys.argv[3])
app = Docent(Settings(data_dir=Path(sys.argv[1]), _env_file=None))
app.embedder.encode(["warm up"])
start = time.perf_counter()
source = pipeline.Source.from_path(Path(sys.argv[2]))
result = pipeline.ingest_sources([source], app.collection("big"), app.embedder, app.settings)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"chunks": result[0].chunks, "status": result[0].status,
                  "seconds": seconds, "peak_mb": peak}))
"""


def big_file(scifact: Path, path: Path, mb: float) -> None:
    """About ``mb`` MB of abstracts, one paragraph each, repeated as needed."""
    rows = [json.loads(line) for line in (scifact / "corpus.jsonl").open()]
    out, size, n = [], 0, 0
    while size < mb * 2**20:
        row = rows[n % len(rows)]
        text = f"{row['title']} ({n}). {row['text']}\n\n"
        out.append(text)
        size, n = size + len(text.encode()), n + 1
    path.write_text("".join(out))


def run(data_dir: Path, path: Path, part: int) -> dict[str, float]:
    """Index ``path`` in a child process with ``part`` chunks per part; its figures."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), str(path), str(part)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run both ways and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact", type=Path, required=True)
    parser.add_argument("--mb", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "abstracts.txt"
        big_file(args.scifact, path, args.mb)
        rows = []
        for label, part in ((f"in parts of {PART_CHUNKS}", PART_CHUNKS), ("all at once", 10**9)):
            figures = run(Path(tmp) / f"data-{part}", path, part)
            rows.append((label, figures))
    print(
        f"{args.mb:g} MB of text, {platform.processor() or platform.machine()}, {platform.node()}"
    )
    print("| written | chunks | s | chunks/s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for label, f in rows:
        print(
            f"| {label} | {f['chunks']:.0f} | {f['seconds']:.0f} | "
            f"{f['chunks'] / f['seconds']:.0f} | {f['peak_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
