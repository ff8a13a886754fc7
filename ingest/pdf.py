"""PDF to text blocks: pypdf checks the file's structure, PDFium (a C library) extracts the text.

pypdf's pure-Python text extraction took 13 s for the three R manuals, a fifth of the time the
embedding model needs for their chunks, on the same two cores; PDFium takes 1 s. pypdf still
does what it does well and cheaply: it reads the structure, decrypts, finds the bookmarks and
decodes every page's content streams, so a damaged file is reported instead of half-read.
"""

from __future__ import annotations

import io
import logging
import re
import threading

from ingest.document import Block, LoadedDocument
from ingest.errors import IngestError
from ingest.margins import strip_margins
from ingest.pdf_code import PageCode, code_lines, code_spans, page_code

# PDFium is not thread-safe; the app can load files from more than one session thread.
_PDFIUM = threading.Lock()
# PDFium joins a word broken across lines and marks where the hyphen was.
_SOFT_HYPHEN = re.compile(r"(\w+)[\x02\ufffe](\w+)")


def load_pdf(name: str, data: bytes) -> LoadedDocument:
    """Load a PDF's text page by page, split where its bookmarked headings start.

    Raises:
        IngestError: the file is not a PDF, is truncated, damaged, encrypted, has no pages or
            no text layer.
    """
    reader = _open_checked(name, data)
    pages = len(reader.pages)
    found = _pdfium_texts(data, pages)
    texts = found[0] if found else [_pypdf_text(name, reader, i) for i in range(pages)]
    code = found[1] if found else [set() for _ in range(pages)]
    if not any(t.strip() for t in texts):
        raise IngestError(
            name,
            "the PDF has no text layer (a scanned document?); run OCR on it "
            "first (for example with ocrmypdf), then add the result",
        )
    blocks: list[Block] = []
    for page, (text, (path, marks)) in enumerate(
        zip(strip_margins(texts), _outline_by_page(reader, pages), strict=True), start=1
    ):
        blocks.extend(_split_at_headings(text, page, path, marks))
    blocks = merge_small(blocks)
    for block in blocks:  # found once the text is final: margins, headings and merges done
        block.code = code_spans(block.text, code[(block.page or 1) - 1])
    return LoadedDocument(name, "pdf", pages, blocks)


MIN_WORDS = 12  # a block shorter than this (a heading line alone) is joined to a neighbour


def merge_small(blocks: list[Block]) -> list[Block]:
    """Join each very short block (a chapter's title line, what is left of a page after its
    running head) to the next block on its page, under that block's heading path; else to
    the previous one. Joined by a blank line, as the document's text joins blocks."""
    out: list[Block] = []
    carry: Block | None = None
    for i, block in enumerate(blocks):
        # whether another block follows on this page (asked of the position: a joined block
        # is a new object that the list does not hold)
        next_on_page = i + 1 < len(blocks) and blocks[i + 1].page == block.page
        if carry is not None and carry.page == block.page:
            block = Block(f"{carry.text}\n\n{block.text}", block.page, block.headings)
        elif carry is not None:
            out.append(carry)
        carry = None
        if len(block.text.split()) < MIN_WORDS:
            if out and out[-1].page == block.page and not next_on_page:
                out[-1] = Block(f"{out[-1].text}\n\n{block.text}", block.page, out[-1].headings)
            else:
                carry = block
            continue
        out.append(block)
    if carry is not None:
        out.append(carry)
    return out


def _open_checked(name: str, data: bytes) -> object:
    """A pypdf reader for a PDF whose structure and page streams all decode cleanly."""
    import pypdf
    from pypdf.errors import PdfReadError

    if b"%PDF-" not in data[:1024]:
        raise IngestError(name, "the file is not a PDF (it has no %PDF header)")
    if b"%%EOF" not in data[-2048:]:
        raise IngestError(name, "the PDF is truncated (no end-of-file marker); download it again")
    with _PdfWarnings() as warnings:
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            _unlock(name, reader)
            pages = len(reader.pages)
            for index in range(pages):
                _decode_contents(name, reader, index)
        except IngestError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise IngestError(name, f"the PDF is damaged and cannot be read ({exc})") from exc
    if pages == 0:
        raise IngestError(name, "the PDF has no pages")
    if warnings.damage:
        raise IngestError(name, f"the PDF is damaged ({warnings.damage[0]})")
    return reader


def _decode_contents(name: str, reader: object, index: int) -> None:
    """Decompress a page's content streams (zlib, in C): flipped bytes show up here."""
    try:
        contents = reader.pages[index].get("/Contents")  # type: ignore[attr-defined]
        streams = contents.get_object() if contents is not None else []
        for stream in streams if isinstance(streams, list) else [streams]:
            stream.get_object().get_data()
    except Exception as exc:
        raise IngestError(name, f"page {index + 1} of the PDF is damaged ({exc})") from exc


def _pdfium_texts(data: bytes, pages: int) -> tuple[list[str], list[set[str]]] | None:
    """Every page's text by PDFium and its lines set in a monospace font (code), or ``None``
    when PDFium can't read what pypdf could."""
    import pypdfium2

    try:
        with _PDFIUM:
            pdf = pypdfium2.PdfDocument(data)
            try:
                if len(pdf) != pages:
                    return None
                raw = [_pdfium_page_text(pdf, i) for i in range(pages)]
            finally:
                pdf.close()
    except Exception:  # whatever PDFium can't do, pypdf gets to try
        return None
    texts = _dehyphenate([t.replace("\r\n", "\n").replace("\r", "\n") for t, _ in raw])
    return texts, code_lines([code for _, code in raw])


def _pdfium_page_text(pdf: object, index: int) -> tuple[str, PageCode]:
    page = pdf[index]  # type: ignore[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        return text, page_code(textpage, text)
    finally:
        textpage.close()
        page.close()


def _dehyphenate(texts: list[str]) -> list[str]:
    """Join words PDFium found hyphenated at a line end, if the joined word occurs elsewhere.

    Otherwise the hyphen stays: "Unix-alikes" is a real compound, "infor-mation" is not.
    """
    words = {w.lower() for t in texts for w in re.findall(r"\w+", _SOFT_HYPHEN.sub(" ", t))}

    def join(match: re.Match[str]) -> str:
        head, tail = match.groups()
        return head + tail if (head + tail).lower() in words else f"{head}-{tail}"

    return [_SOFT_HYPHEN.sub(join, t).replace("\x02", "-").replace("\ufffe", "-") for t in texts]


def _pypdf_text(name: str, reader: object, index: int) -> str:
    try:
        return reader.pages[index].extract_text() or ""  # type: ignore[attr-defined]
    except Exception as exc:
        raise IngestError(name, f"page {index + 1} of the PDF is damaged ({exc})") from exc


def _unlock(name: str, reader: object) -> None:
    if not getattr(reader, "is_encrypted", False):
        return
    try:
        ok = reader.decrypt("")  # type: ignore[attr-defined]  # many PDFs only restrict editing
    except Exception:
        ok = 0
    if not ok:
        raise IngestError(name, "the PDF is encrypted with a password; save an unprotected copy")


def _split_at_headings(
    text: str, page: int, path: list[str], marks: list[tuple[int, str]]
) -> list[Block]:
    """Cut a page where its bookmarked headings start, so each part gets its own path."""
    blocks: list[Block] = []
    start = 0
    for level, title in marks:
        at = _find_line(text, title, start)
        if at is None:
            path = path[:level] + [title]
            continue
        if text[start:at].strip():
            blocks.append(Block(text[start:at].strip("\n"), page, list(path)))
        path, start = path[:level] + [title], at
    if text[start:].strip():
        blocks.append(Block(text[start:].strip("\n"), page, list(path)))
    return blocks


def _find_line(text: str, title: str, start: int) -> int | None:
    """Offset of the line (at or after ``start``) that holds ``title``, if any."""
    at = text.lower().find(title.lower(), start) if title else -1
    return None if at < 0 else text.rfind("\n", 0, at) + 1


def _outline_by_page(reader: object, pages: int) -> list[tuple[list[str], list[tuple[int, str]]]]:
    """Per page: the bookmark path in force where it starts, and the bookmarks on it."""
    marks: list[tuple[int, int, str]] = []

    def walk(items: list[object], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)  # type: ignore[attr-defined]
            except Exception:
                continue
            if page is not None and 0 <= page < pages:
                marks.append((page, level, " ".join(str(getattr(item, "title", "")).split())))

    try:
        walk(list(reader.outline), 0)  # type: ignore[attr-defined]
    except Exception:
        marks = []
    marks.sort(key=lambda m: m[0])  # stable: keeps outline order within a page
    result: list[tuple[list[str], list[tuple[int, str]]]] = []
    path: list[str] = []
    for page in range(pages):
        on_page = [(level, title) for p, level, title in marks if p == page]
        result.append((list(path), on_page))
        for level, title in on_page:
            path = path[:level] + [title]
    return result


class _PdfWarnings(logging.Handler):
    """Collects pypdf's logged errors: with ``strict=False`` damage is logged, not raised."""

    DAMAGE = re.compile(r"(incorrect startxref|invalid|corrupt|damaged|decompress|error)", re.I)

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.damage: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.DAMAGE.search(message):
            self.damage.append(message)

    def __enter__(self) -> _PdfWarnings:
        logging.getLogger("pypdf").addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger("pypdf").removeHandler(self)
