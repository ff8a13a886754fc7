"""Bad files: each gets a clear error naming the file and the reason; nothing stored is lost."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable

import pytest

from ingest.errors import IngestError
from ingest.loaders import load_bytes
from ingest.pipeline import Source, ingest_sources
from rag.config import Settings
from rag.system import Docent
from tests.conftest import chroma_finds, ingest
from tests.helpers import FACTS, make_pdf


def _truncated_pdf() -> bytes:
    data = make_pdf(FACTS)
    return data[: len(data) // 2]


def _flipped_pdf() -> bytes:
    data = bytearray(make_pdf(FACTS * 3))
    rng = random.Random(7)
    start = data.find(b"stream") + 10  # damage the compressed page content and what follows
    for _ in range(200):
        data[rng.randrange(start, len(data) - 200)] ^= 0xFF
    return bytes(data)


def _encrypted_pdf() -> bytes:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(make_pdf(FACTS)))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # graphics only: no text layer
    return bytes(pdf.output())


def _zero_page_pdf() -> bytes:
    import pypdf

    out = io.BytesIO()
    pypdf.PdfWriter().write(out)
    return out.getvalue()


def _padded_bomb_docx() -> bytes:
    """H5: one incompressible padding part hid a 150 MB document.xml from an averaged ratio."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>", zipfile.ZIP_DEFLATED)
        archive.writestr("word/media/pad.bin", random.Random(3).randbytes(1_750_000))
        archive.writestr("word/document.xml", b"\0" * (150 * 2**20), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _zip_bomb_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (300 * 2**20))  # 300 MB of zeros
    return out.getvalue()


CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty.txt", lambda: b"", "empty"),
    ("truncated.pdf", _truncated_pdf, "truncated"),
    ("flipped.pdf", _flipped_pdf, "damaged"),
    ("locked.pdf", _encrypted_pdf, "encrypted"),
    ("scan.pdf", _scanned_pdf, "OCR"),
    ("nopages.pdf", _zero_page_pdf, "no pages"),
    ("binary.txt", lambda: random.Random(1).randbytes(4096), "binary"),
    ("bomb.docx", _zip_bomb_docx, "DOCENT_MAX_EXPANDED_MB"),
    ("padded.docx", _padded_bomb_docx, "word/document.xml would expand"),
    ("notzip.docx", lambda: b"not a zip file at all", "the file is not a valid Word document"),
    (
        "scripts.html",
        lambda: b"<html><script>var a = 1;</script><style>p{}</style></html>",
        "the file contains no readable text",
    ),
    ("nul.txt", lambda: b"hello\x00world, text with a NUL in the middle", "NUL"),
    ("image.png", lambda: b"\x89PNG\r\n\x1a\n...", "unsupported file type"),
    ("../escape.txt", lambda: b"hello", "path separator"),
    ("a\\b.txt", lambda: b"hello", "path separator"),
    ("/etc/escape.txt", lambda: b"hello", "path separator"),  # a folder path is a name only
    ("docs/../escape.txt", lambda: b"hello", "path separator"),  # ... relative and plain
    ("bell\x07.txt", lambda: b"hello", "control characters"),
    ("nul\x00.txt", lambda: b"hello", "control characters"),
    ("invoice\u202efdp.txt", lambda: b"hello", "invisible characters"),  # shows "txt.pdf"
    ("zero\u200bwidth.txt", lambda: b"hello", "invisible characters"),
    ("\ufeffbom.txt", lambda: b"hello", "invisible characters"),
]


@pytest.mark.parametrize(("name", "make", "reason"), CASES, ids=[c[0] for c in CASES])
def test_loader_rejects_with_named_reason(
    name: str, make: Callable[[], bytes], reason: str
) -> None:
    with pytest.raises(IngestError) as err:
        load_bytes(name, make(), 10 * 2**20)
    assert reason.lower() in str(err.value).lower()
    assert repr(name) in str(err.value) or name in str(err.value)


def test_oversize_file_is_refused_before_reading(settings: Settings, embedder: object) -> None:
    small = Docent(settings.model_copy(update={"max_file_mb": 0.001}))
    source = Source("big.txt", lambda: pytest.fail("an oversize file must not be read"), 5000)
    [result] = ingest_sources([source], small.collection(), small.embedder, small.settings)
    assert result.status == "failed" and "over the limit" in result.reason
    small.close()


def test_bad_files_among_good_ones_lose_nothing(docent: Docent) -> None:
    assert ingest(docent, ("facts.pdf", make_pdf(FACTS))) == ["indexed"]
    collection = docent.collection()
    before = {c.chunk_id for c in collection.rows.chunks()}

    bad = [Source.from_bytes(name, make()) for name, make, _ in CASES]
    later = Source.from_bytes("notes.md", b"# Owls\nBarn owls hunt by sound alone.\n")
    results = ingest_sources([*bad, later], collection, docent.embedder, docent.settings)

    assert [r.status for r in results] == ["failed"] * len(bad) + ["indexed"]
    for result, (name, _, reason) in zip(results, CASES, strict=False):
        assert result.name == name and reason.lower() in result.reason.lower()
    assert {d.name for d in collection.documents()} == {"facts.pdf", "notes.md"}
    assert before <= {c.chunk_id for c in collection.rows.chunks()}
    found, stored = chroma_finds(docent)
    assert found == stored == len(before) + 1


def test_a_large_real_docx_loads_and_its_expansion_is_bounded_by_the_setting() -> None:
    from tests.helpers import make_docx

    paragraphs = [f"Paragraph {i} about section {i // 50}." for i in range(4000)]
    data = make_docx([(f"Part {p}", paragraphs[p * 500 : (p + 1) * 500]) for p in range(8)])
    doc = load_bytes("big.docx", data, 10 * 2**20)
    assert [b.headings for b in doc.blocks] == [[f"Part {p}"] for p in range(8)]
    assert doc.blocks[3].text.splitlines()[0] == "Paragraph 1500 about section 30."
    with pytest.raises(IngestError, match="over the limit of 0 MB"):
        load_bytes("big.docx", data, 10 * 2**20, max_expanded=100_000)


def test_docx_tables_stay_under_their_heading_in_document_order() -> None:
    import docx

    document = docx.Document()
    document.add_heading("Prices", level=1)
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Item", "Cost"), ("Tea", "3")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("After", level=1)
    document.add_paragraph("Later text.")
    out = io.BytesIO()
    document.save(out)
    doc = load_bytes("t.docx", out.getvalue(), 10 * 2**20)
    assert [(b.headings, b.text) for b in doc.blocks] == [
        (["Prices"], "Before the table."),
        (["Prices"], "Item | Cost\nTea | 3"),
        (["After"], "Later text."),
    ]
