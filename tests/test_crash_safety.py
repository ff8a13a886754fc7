"""SIGKILL the ingest CLI at random moments; the store must always come back whole.

Chroma 1.5.9 embedded can corrupt its HNSW files when killed mid-write (docs/architecture.md),
so each check opens the store in a child process and every stored chunk must be findable by its
own vector, not merely counted.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.loaders import load_bytes
from tests.conftest import PDFS, REPO

COLLECTION = "crash"
KILLS = int(os.environ.get("DOCENT_CRASH_KILLS", "12"))


def _corpus(folder: Path, files: int = 24, per_file: int = 12) -> None:
    """Markdown files cut from the R manuals' real text, a heading per section."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks = [
        b
        for name in ("R-intro.pdf", "R-admin.pdf")
        for b in load_bytes(name, (PDFS / name).read_bytes(), 10 * 2**20).blocks
        if len(b.text) > 200
    ]
    for f in range(files):
        parts = []
        for i in range(f * per_file, (f + 1) * per_file):
            block = blocks[i % len(blocks)]
            title = " / ".join(block.headings) or "Untitled"
            parts.append(f"## {title} ({i})\n\n{block.text}\n")
        (folder / f"part-{f:02d}.md").write_text("\n".join(parts))


def _ingest_cmd(folder: Path, data_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ingest",
        str(folder),
        "--collection",
        COLLECTION,
        "--data-dir",
        str(data_dir),
    ]


def _run_and_kill(cmd: list[str], rng: random.Random, at_write: bool) -> bool:
    """Start the CLI and SIGKILL it: at a random time, or just as it starts writing a group.

    Returns whether the kill landed: the process was still running (and, at a write, had
    started writing) when it was killed.
    """
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    writing = False
    if at_write:  # tqdm's progress line says "writing" when a group's vectors go to the store
        os.set_blocking(proc.stderr.fileno(), False)
        deadline, seen = time.monotonic() + 180, b""
        while time.monotonic() < deadline and proc.poll() is None:
            seen += proc.stderr.read() or b""
            if b"writing" in seen:
                writing = True
                time.sleep(rng.uniform(0.03, 0.09))  # into the write, which follows the report
                break
            time.sleep(0.005)
    else:
        time.sleep(rng.uniform(4.0, 14.0))  # model load takes ~4 s; then it reads and embeds
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return alive and (writing or not at_write)


def _check(data_dir: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.store_check", str(data_dir), COLLECTION],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, f"the store did not open after a kill: {out.stderr[-2000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sigkill_during_ingest_never_leaves_a_broken_store(tmp_path: Path) -> None:
    folder, data_dir = tmp_path / "docs", tmp_path / "data"
    _corpus(folder)
    rng = random.Random(20261127)
    landed = recoveries = 0
    for kill in range(KILLS):
        at_write = kill % 2 == 0
        if at_write and kill:  # change some files, so this run has replacements to write
            for path in rng.sample(sorted(folder.glob("*.md")), 3):
                path.write_text(
                    path.read_text() + f"\n## Erratum {kill}\n\nRevised on run {kill}.\n"
                )
        hit = _run_and_kill(_ingest_cmd(folder, data_dir), rng, at_write)
        assert hit or not at_write, f"kill {kill} did not land while writing"
        landed += hit
        state = _check(data_dir)
        assert state["problems"] == [], (kill, state)
        assert all(n == 1 for n in state["names"].values()), state  # no duplicate versions
        recoveries += "finished interrupted writes" in state["recovered"]
    done = subprocess.run(
        _ingest_cmd(folder, data_dir), cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    state = _check(data_dir)
    assert state["problems"] == [] and state["documents"] == 24, state
    assert set(state["names"]) == {p.name for p in folder.glob("*.md")}
    assert state["chroma_count"] == state["chunks"]
    # Kills at a write leave pending documents or a dirty mark: recovery must have run.
    assert landed >= KILLS // 2 and recoveries >= KILLS // 4, (landed, recoveries)


def _populated(tmp_path: Path) -> Path:
    """A store with enough vectors (3,000) that Chroma has flushed them to its HNSW files."""
    data_dir = tmp_path / "data"
    subprocess.run(
        [sys.executable, "-m", "tests.store_check", "populate", str(data_dir), COLLECTION, "3000"],
        cwd=REPO,
        check=True,
        timeout=600,
    )
    return data_dir


def _mark_dirty(data_dir: Path) -> None:
    import sqlite3

    with sqlite3.connect(data_dir / "docent.sqlite") as db:
        db.execute(f"INSERT OR REPLACE INTO meta VALUES ('chroma_dirty:{COLLECTION}', 'test')")


def _segment_dirs(data_dir: Path) -> list[Path]:
    [store] = [p for p in data_dir.glob("chroma*") if p.is_dir()]
    return [p for p in store.iterdir() if p.is_dir()]


def test_lost_hnsw_files_are_rebuilt_from_the_durable_copy(tmp_path: Path) -> None:
    # Deleting the index folder makes Chroma open with the right count but vectors gone:
    # the self-query check must notice, and the rebuild must bring every vector back.
    data_dir = _populated(tmp_path)
    before = _check(data_dir)
    assert before["problems"] == [] and before["chunks"] == 3000
    for seg in _segment_dirs(data_dir):
        shutil.rmtree(seg)
    _mark_dirty(data_dir)
    after = _check(data_dir)
    assert after["problems"] == [], after
    assert any("rebuilt" in r for r in after["recovered"]), after
    probe = next(r for r in after["recovered"] if r.startswith("probe"))
    assert "exit 0" in probe and f"{COLLECTION} 100%" not in probe  # vectors were really lost
    assert after["chunks"] == before["chunks"] == after["chroma_count"]


def test_garbled_hnsw_files_do_not_crash_the_opener(tmp_path: Path) -> None:
    data_dir = _populated(tmp_path)
    for seg in _segment_dirs(data_dir):
        for name in ("header.bin", "link_lists.bin", "data_level0.bin"):
            if (seg / name).exists():
                (seg / name).write_bytes(os.urandom(4096))
    _mark_dirty(data_dir)
    after = _check(data_dir)
    assert after["problems"] == [], after
    assert any("rebuilt" in r for r in after["recovered"]), after
