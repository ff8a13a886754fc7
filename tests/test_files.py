"""Which files a command line names (H12): links out of a folder, FIFOs, devices, hidden files."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.files import find_files


def _tree(tmp_path: Path) -> Path:
    docs, outside = tmp_path / "docs", tmp_path / "secret"
    (docs / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "shadow.txt").write_text("root:$6$hash")
    (docs / "a.md").write_text("# A\ntext")
    (docs / "sub" / "b.txt").write_text("text")
    (docs / ".hidden.md").write_text("hidden")
    (docs / "note.xyz").write_text("unsupported: reported as skipped")
    (docs / ".git").mkdir()
    (docs / ".git" / "notes.md").write_text("a tool's file in a hidden folder: not walked")
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (docs / "node_modules" / "pkg").mkdir(parents=True)
    (docs / "node_modules" / "pkg" / "README.md").write_text("a package's README: not walked")
    (docs / "inside-link.md").symlink_to(docs / "a.md")
    (docs / "leak.txt").symlink_to(outside / "shadow.txt")
    (docs / "leakdir").symlink_to(outside, target_is_directory=True)
    (docs / "broken.md").symlink_to(docs / "nowhere.md")
    os.mkfifo(docs / "pipe.txt")
    return docs


def test_links_out_of_a_folder_are_skipped_and_special_files_named(tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    found, refused = find_files([docs])
    assert sorted(p.relative_to(docs).as_posix() for p in found) == [
        "a.md",
        "inside-link.md",
        "sub/b.txt",
    ]
    why = {Path(r.name).name: (r.status, r.reason) for r in refused}
    assert why["leak.txt"][0] == "skipped" and "--follow-links" in why["leak.txt"][1]
    assert why["leakdir"][0] == "skipped" and "a folder outside" in why["leakdir"][1]
    assert why["pipe.txt"] == ("failed", "is a FIFO (named pipe), not a regular file")
    assert why["broken.md"] == ("failed", "a broken link")
    assert why["note.xyz"][0] == "skipped" and "unsupported file type '.xyz'" in why["note.xyz"][1]
    assert not any(".git" in r.name or "hidden" in r.name for r in refused)


def test_a_sphinx_sites_copies_of_its_sources_are_not_walked(tmp_path: Path) -> None:
    # A built Sphinx site (Python's docs) holds each page twice: as HTML, and its source as
    # a .txt under _sources, which would be indexed as a second, raw copy.
    site = tmp_path / "html"
    (site / "_sources" / "tutorial").mkdir(parents=True)
    (site / "_sources" / "tutorial" / "index.rst.txt").write_text("Tutorial\n========\n")
    (site / "_static").mkdir()
    (site / "_static" / "basic.css").write_text("p {}")
    (site / "tutorial").mkdir()
    (site / "tutorial" / "index.html").write_text("<h1>Tutorial</h1>")
    plain = tmp_path / "notes"
    (plain / "_sources").mkdir(parents=True)  # no Sphinx inventory beside it: the user's
    (plain / "_sources" / "list.txt").write_text("Where the data came from.")
    (site / "objects.inv").write_bytes(b"# Sphinx inventory version 2\n")
    found, refused = find_files([site, plain])
    assert found == [site / "tutorial" / "index.html", plain / "_sources" / "list.txt"]
    assert [Path(r.name).name for r in refused] == ["objects.inv"]  # unsupported, as ever


def test_asked_for_links_are_followed(tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    found, _ = find_files([docs], follow_links=True)
    assert docs / "leak.txt" in found
    # a path named on the command line is the user's own choice: a link there is followed
    named, refused = find_files([docs / "leak.txt", docs / "pipe.txt", tmp_path / "gone.md"])
    assert named == [docs / "leak.txt"]
    assert [r.reason for r in refused] == [
        "is a FIFO (named pipe), not a regular file",
        "no such file or folder",
    ]
