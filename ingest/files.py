"""Which files a command line names: folders walked, links and special files handled safely.

A folder's files are ingested (hidden files and folders left out, files of other formats
reported as skipped), but a symbolic link that leads out of the folder is skipped
unless asked for (``--follow-links``): indexing a folder must not pick up ``/etc/shadow``
through a link someone left in it. FIFOs, sockets and devices are reported, never opened (a
FIFO would block the reader forever).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ingest.loaders import SUPPORTED
from ingest.results import FileResult

TOOL_FOLDERS = frozenset({"__pycache__", "node_modules"})  # never walked, like hidden ones
# A built Sphinx site keeps a copy of each page's source in _sources (.txt files: each page
# would be read twice, once as raw markup) and its theme in _static; known by its inventory.
SPHINX_COPIES = frozenset({"_sources", "_static"})
SPHINX_MARKERS = ("objects.inv", "searchindex.js")
UNSUPPORTED = "unsupported file type"  # how a skipped file of another format is reported

_SPECIAL = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def find_files(
    paths: Iterable[Path], follow_links: bool = False
) -> tuple[list[Path], list[FileResult]]:
    """Regular files to ingest (folders walked recursively), and what was refused or skipped.

    Args:
        paths: files and folders as the user named them (a link named here is followed).
        follow_links: also follow links inside folders that lead out of them.
    """
    found: list[Path] = []
    refused: list[FileResult] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            refused.append(FileResult(str(path), "failed", reason="no such file or folder"))
            continue
        if stat.S_ISDIR(mode):
            _walk(path, follow_links, found, refused)
        elif stat.S_ISREG(mode):
            found.append(path)
        else:
            refused.append(_special(path, mode))
    return found, refused


def _walk(root: Path, follow_links: bool, found: list[Path], refused: list[FileResult]) -> None:
    top = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        # Hidden folders (.git, .venv, .cache) and these hold tools' files, not the user's
        # documents (node_modules alone can hold thousands of packages' READMEs).
        site = any(Path(folder, marker).is_file() for marker in SPHINX_MARKERS)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in TOOL_FOLDERS and not (site and d in SPHINX_COPIES)
        )
        for name in dirs:
            link = Path(folder, name)
            if link.is_symlink() and not _inside(link, top):
                refused.append(_left(link, "a folder"))
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith("."):
                continue
            if path.suffix.lower() not in SUPPORTED:
                refused.append(_unsupported(path))
                continue
            if path.is_symlink() and not follow_links and not _inside(path, top):
                refused.append(_left(path, "a file"))
                continue
            try:
                mode = path.stat().st_mode
            except OSError:
                refused.append(FileResult(str(path), "failed", reason="a broken link"))
                continue
            if stat.S_ISREG(mode):
                found.append(path)
            else:
                refused.append(_special(path, mode))


def _inside(path: Path, top: Path) -> bool:
    return path.resolve().is_relative_to(top)


def _left(path: Path, what: str) -> FileResult:
    return FileResult(
        str(path),
        "skipped",
        reason=f"a link to {what} outside the folder (use --follow-links to include it)",
    )


def _unsupported(path: Path) -> FileResult:
    suffix = path.suffix.lower() or "(none)"
    return FileResult(str(path), "skipped", reason=f"{UNSUPPORTED} {suffix!r}")


def _special(path: Path, mode: int) -> FileResult:
    kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
    return FileResult(str(path), "failed", reason=f"is {kind}, not a regular file")


def document_names(paths: list[Path]) -> list[str]:
    """The name each file is stored under: its file name, or, where several files of this run
    share one, enough of their folders to tell them apart (``v1/README.md``,
    ``v2/README.md``).

    A document's name is its identity (the same name with new content replaces the old
    version), so three README.md files of one folder tree must not overwrite each other."""
    parts = [path.absolute().parts for path in paths]
    names = [path.name for path in paths]
    clashes: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        clashes.setdefault(name, []).append(i)
    for group in clashes.values():
        distinct = {parts[i] for i in group}  # a file named twice is still one file
        depth = 2
        while len({parts[i][-depth:] for i in group}) < len(distinct):
            depth += 1
        if len(distinct) > 1:
            for i in group:
                names[i] = "/".join(parts[i][-depth:])
    return names
