"""``python -m ingest``: add files and folders (or a BEIR corpus) to a collection, list or
delete documents."""

from __future__ import annotations

import argparse
import difflib
import sys
from datetime import datetime
from pathlib import Path

from ingest.beir import beir_sources, read_corpus
from ingest.files import UNSUPPORTED, document_names, find_files
from ingest.loaders import SUPPORTED
from ingest.pipeline import Progress, Source, ingest_sources
from ingest.results import FileResult, counted
from rag.cli_answer import acting_user, collection_name, existing_collection
from rag.collection import Collection
from rag.config import Settings, get_settings
from rag.docstore import DocumentRecord
from rag.errors import USER_ERRORS, report
from rag.system import Docent


def _parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    p.add_argument("paths", nargs="*", type=Path, help="files and folders (recursive) to add")
    p.add_argument(
        "--collection", type=collection_name, help="collection name (default: DOCENT_COLLECTION)"
    )
    p.add_argument("--data-dir", type=Path, help="data folder (default: DOCENT_DATA_DIR or ./data)")
    p.add_argument("--user", help="act as this user (default: the local administrator)")
    p.add_argument(
        "--follow-links",
        action="store_true",
        help="also follow links inside folders that lead outside them (skipped by default)",
    )
    action = p.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the collection's documents")
    action.add_argument("--delete", metavar="DOCNAME", help="delete a document by name")
    action.add_argument(
        "--beir",
        metavar="CORPUS",
        type=Path,
        help="add a BEIR corpus.jsonl: one document per line, named <_id>.md (for rag eval)",
    )
    action.add_argument(
        "--reindex",
        action="store_true",
        help="re-embed a collection with the configured embedding model",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (1 if any file failed, 2 for a usage error)."""
    args = _parser().parse_args(argv)
    overrides = {
        k: v for k, v in {"collection": args.collection, "data_dir": args.data_dir}.items() if v
    }
    try:
        docent = Docent(Settings(**overrides) if overrides else get_settings())
        name = docent.settings.collection
        user = acting_user(docent, args.user)
        if args.reindex:
            from rag.reindex import reindex

            n = reindex(docent.library, name, docent.embedder, user)
            model = docent.embedder.fingerprint.describe()
            print(f"re-indexed {counted(n, 'chunk')} of {name!r} with {model}")
            return 0
        if args.list or args.delete:  # of a collection that must exist: a typo lists nothing
            existing = existing_collection(docent, user)
            return _list(existing.documents()) if args.list else _delete(existing, args.delete)
        collection = docent.collection(user=user)
        if args.beir:
            rows = read_corpus(args.beir)  # every line checked before anything is stored
            return _ingest(list(beir_sources(rows)), [], collection, docent)
        if not args.paths:
            print(
                "nothing to do: give files or folders, --beir, --list or --delete", file=sys.stderr
            )
            return 2
        files, results = find_files(args.paths, follow_links=args.follow_links)
        if not files and not results:  # an empty folder: say so, not just "0 ok"
            where = ", ".join(str(p) for p in args.paths)
            print(f"no files found in {where}; Docent reads {', '.join(sorted(SUPPORTED))}")
            return 0
        sources = [
            Source.from_path(p, n) for p, n in zip(files, document_names(files), strict=True)
        ]
        return _ingest(sources, results, collection, docent)
    except USER_ERRORS as exc:
        return report(exc)


def _ingest(
    sources: list[Source], results: list[FileResult], collection: Collection, docent: Docent
) -> int:
    """Ingest ``sources`` with a progress bar, print one line per file; ``results`` holds what
    was already decided (files skipped while walking folders)."""
    from tqdm import tqdm

    bar = tqdm(total=len(sources), unit="file", desc="ingesting", file=sys.stderr)

    def progress(p: Progress) -> None:
        bar.set_postfix_str(
            f"{p.name[:40]} {p.stage} {p.done}/{p.of}" if p.of else f"{p.name[:40]} {p.stage}"
        )
        if p.stage == "done":
            bar.update(1)

    results += ingest_sources(sources, collection, docent.embedder, docent.settings, progress)
    bar.close()
    for r in results:
        detail = (
            counted(r.chunks, "chunk") + (f", {counted(r.pages, 'page')}" if r.pages else "")
            if r.chunks
            else r.reason
        )
        print(f"{r.status:>15}  {r.name}  ({detail})")
    if any(r.status == "skipped" and r.reason.startswith(UNSUPPORTED) for r in results):
        print(f"Docent reads {', '.join(sorted(SUPPORTED))} files")
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    ok = len(results) - failed - skipped
    settings = docent.settings
    where = "the shared library" if settings.database_url else settings.data_dir
    print(f"{ok} ok, {skipped} skipped, {failed} failed; collection {collection.name!r} in {where}")
    return 1 if failed else 0


def _list(docs: list[DocumentRecord]) -> int:
    if not docs:
        print("no documents")
    for d in docs:
        added = datetime.fromtimestamp(d.added_at).strftime("%Y-%m-%d %H:%M")
        pages = counted(d.pages, "page") if d.pages else "no pages"
        print(f"{d.name}\t{pages}\t{counted(d.chunks, 'chunk')}\tadded {added}")
    return 0


def _delete(collection: Collection, name: str) -> int:
    docs = collection.documents()
    matches = [d for d in docs if d.name == name]
    if not matches:
        print(
            f"error: no document named {name!r} in collection {collection.name!r}"
            + _hint(name, [d.name for d in docs]),
            file=sys.stderr,
        )
        return 2
    for d in matches:
        collection.delete_document(d.doc_id)
    print(f"deleted {name}")
    return 0


def _hint(name: str, names: list[str]) -> str:
    """What the user may have meant by a document name the collection lacks."""
    if not names:
        return " (it has no documents)"
    # compared in lower case: "NOTES.MD" means "notes.md"
    lowered = {n.lower(): n for n in names}
    close = [lowered[c] for c in difflib.get_close_matches(name.lower(), lowered, n=3, cutoff=0.75)]
    if close:
        return f"; did you mean {', '.join(map(repr, close))}?"
    return "; --list shows its documents"


if __name__ == "__main__":
    sys.exit(main())
