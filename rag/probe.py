"""Check a Chroma store from a child process: a store damaged by a crash can segfault its opener.

``python -m rag.probe COLLECTION...`` (settings from the environment) opens the store, queries a
sample of stored chunks by their own vectors and prints one JSON line per collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np

from rag.config import Settings
from rag.docstore import DocStore

SAMPLE = 50
TIMEOUT_S = 300


@dataclass
class ProbeReport:
    """What the child saw: exit code and, per collection, the share of chunks found."""

    returncode: int
    findable: dict[str, float] = field(default_factory=dict)
    error: str = ""

    def ok(self, min_findable: float) -> bool:
        """The store opened and every collection's sample was found well enough."""
        return self.returncode == 0 and all(v >= min_findable for v in self.findable.values())

    def summary(self) -> str:
        """One line for logs."""
        shares = ", ".join(f"{k} {v:.0%}" for k, v in self.findable.items())
        return f"exit {self.returncode}; findable: {shares or '-'} {self.error}".strip()


def probe_store(settings: Settings, collections: list[str]) -> ProbeReport:
    """Run the probe in a child process and parse what it printed."""
    env = {**os.environ, "DOCENT_DATA_DIR": str(settings.data_dir.resolve())}
    if settings.chroma_host:
        env.update(
            DOCENT_CHROMA_HOST=settings.chroma_host, DOCENT_CHROMA_PORT=str(settings.chroma_port)
        )
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "rag.probe", *collections],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeReport(returncode=-1, error="probe timed out")
    report = ProbeReport(
        returncode=proc.returncode, error=proc.stderr.strip()[-300:] if proc.returncode else ""
    )
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            report.findable[row["collection"]] = row["findable"]
    missing = set(collections) - set(report.findable)
    if proc.returncode == 0 and missing:
        report.returncode, report.error = 1, f"no answer for {sorted(missing)}"
    return report


def _main(collections: list[str]) -> None:
    from rag.store import open_client

    settings = Settings()
    docs = DocStore(settings.data_dir / "docent.sqlite")
    client = open_client(settings)
    existing = {c.name for c in client.list_collections()}
    for name in collections:
        sample = docs.sample_chunks(name, SAMPLE)
        if not sample:
            share = 1.0
        elif name not in existing:
            share = 0.0
        else:
            col = client.get_collection(name)
            res = col.query(
                query_embeddings=np.stack([c.vector for c in sample]), n_results=5, include=[]
            )
            share = sum(c.chunk_id in got for c, got in zip(sample, res["ids"], strict=True)) / len(
                sample
            )
        print(json.dumps({"collection": name, "findable": share}), flush=True)


if __name__ == "__main__":
    import rag  # noqa: F401 - sets the offline environment before chromadb is imported

    _main(sys.argv[1:])
