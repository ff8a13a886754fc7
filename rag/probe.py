"""Check a Chroma store from a child process: a store damaged by a crash can segfault its opener.

``python -m rag.probe FOLDER COLLECTION...`` reads the settings (JSON) on stdin, opens the
store, queries a sample of each collection's stored chunks by their own vectors and prints one
JSON line per collection.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings

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


def probe_store(settings: Settings, folder: Path, collections: list[str]) -> ProbeReport:
    """Run the probe in a child process and read what it printed."""
    config = settings.model_dump_json(exclude={"llm_api_key"})
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "rag.probe", str(folder), *collections],
            input=config,
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


def _main(folder: Path, collections: list[str]) -> None:
    from rag.database import open_database
    from rag.docstore import DocStore
    from rag.embeddings import Fingerprint
    from rag.vectors import VectorStore

    settings = Settings.model_validate_json(sys.stdin.read())
    store = DocStore(open_database(settings))
    vectors = VectorStore(settings, folder)
    existing = vectors.names()
    for name in collections:
        rows = store.rows(name)
        sample = rows.sample(SAMPLE)
        fingerprint = rows.fingerprint() or Fingerprint("unknown", 0, True)
        if not sample:
            share = 1.0
        elif name not in existing:
            share = 0.0
        else:
            share = vectors.index(name, fingerprint).findable(sample) / len(sample)
        print(json.dumps({"collection": name, "findable": share}), flush=True)


if __name__ == "__main__":
    _main(Path(sys.argv[1]), sys.argv[2:])
