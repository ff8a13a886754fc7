"""DOCX loading speed: Docent's streamed lxml reader vs python-docx on the same document.

    python -m bench.docx [--paragraphs 20000]

Builds a real DOCX (python-docx, a dev requirement) with headings every 1,000 paragraphs,
then times loading it both ways. Prints a Markdown table row.
"""

from __future__ import annotations

import argparse
import io
import time

from ingest.loaders import load_bytes


def build(paragraphs: int) -> bytes:
    """A DOCX of ``paragraphs`` short paragraphs under a heading every 1,000."""
    import docx

    document = docx.Document()
    for i in range(paragraphs):
        if i % 1000 == 0:
            document.add_heading(f"Part {i // 1000}", level=1)
        document.add_paragraph(f"Paragraph {i} about section {i // 50} with some words to read.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main() -> None:
    """Time both readers and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.docx")
    parser.add_argument("--paragraphs", type=int, default=20_000)
    args = parser.parse_args()
    data = build(args.paragraphs)
    start = time.perf_counter()
    doc = load_bytes("bench.docx", data, 200 * 2**20)
    ours = time.perf_counter() - start
    import docx

    start = time.perf_counter()
    reference = docx.Document(io.BytesIO(data))
    kept = sum(1 for p in reference.paragraphs if p.text and p.style is not None and p.style.name)
    theirs = time.perf_counter() - start
    n = args.paragraphs
    print("| reader | paragraphs | s | ms per paragraph |\n|---|---|---|---|")
    print(f"| Docent (lxml, streamed) | {n:,} | {ours:.2f} | {ours / n * 1e3:.3f} |")
    print(f"| python-docx (text + style) | {kept:,} | {theirs:.2f} | {theirs / n * 1e3:.3f} |")
    print(f"\n{len(doc.blocks)} blocks; {ours and theirs / ours:.0f}x faster")


if __name__ == "__main__":
    main()
