"""Word (.docx) to text blocks, read straight from the zip's XML with lxml (streamed).

A DOCX is a zip of XML parts, so it is checked as an archive first: each part's compression
ratio and the total expanded size are bounded (zip bombs), and the XML parser resolves no
entities and loads nothing from the network. Paragraphs are read in document order with
their heading levels (from the styles part), tables as rows of ``cell | cell``.
"""

from __future__ import annotations

import io
import re
import zipfile

from ingest.document import Block, LoadedDocument
from ingest.errors import IngestError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_RATIO = 200  # real parts expand ~10x; a part beyond this (and large) is a bomb
RATIO_FLOOR = 2**20  # small parts may compress very well without harm
MAX_ENTRIES = 10_000


def load_docx(name: str, data: bytes, max_expanded: int) -> LoadedDocument:
    """Load a DOCX's paragraphs and tables as blocks under their heading paths.

    Raises:
        IngestError: not a zip, a zip bomb, no document part, or damaged XML.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise IngestError(
            name, "the file is not a valid Word document (not a zip archive)"
        ) from None
    with archive:
        check_archive(name, archive, len(data), max_expanded)
        try:
            document = archive.open("word/document.xml")
        except KeyError:
            raise IngestError(
                name, "the file is not a valid Word document (no word/document.xml)"
            ) from None
        levels = _heading_levels(archive)
        try:
            with document:
                return LoadedDocument(name, "docx", 0, _blocks(document, levels))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise IngestError(name, f"the file is not a valid Word document ({exc})") from exc


def check_archive(name: str, archive: zipfile.ZipFile, size: int, max_expanded: int) -> None:
    """Refuse archives that would expand too much, in all or in any one part.

    The declared sizes are binding: zipfile never returns more than a part's declared size.
    """
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ENTRIES:
        raise IngestError(name, f"refused: {len(infos):,} parts in one document (a zip bomb?)")
    if total > max_expanded:
        raise IngestError(
            name,
            f"refused: it would expand to {total / 2**20:.0f} MB, over the limit of "
            f"{max_expanded / 2**20:.0f} MB (DOCENT_MAX_EXPANDED_MB)",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise IngestError(
                name,
                f"refused: the part {info.filename} would expand {ratio:,.0f} times to "
                f"{info.file_size / 2**20:.0f} MB from {size / 2**10:.0f} KB (a zip bomb?)",
            )


def _parser_options() -> dict[str, bool]:
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}


def _heading_levels(archive: zipfile.ZipFile) -> dict[str, int]:
    """Paragraph style id -> heading level (1 = Title or Heading 1), from word/styles.xml."""
    from lxml import etree

    levels: dict[str, int] = {}
    try:
        with archive.open("word/styles.xml") as part:
            root = etree.parse(part, etree.XMLParser(**_parser_options())).getroot()
    except (KeyError, etree.XMLSyntaxError):
        return {}
    for style in root.iter(f"{W}style"):
        style_id = style.get(f"{W}styleId") or ""
        name_el = style.find(f"{W}name")
        name = (name_el.get(f"{W}val") if name_el is not None else "") or ""
        level = _level(name) or _level(style_id)
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        if not level and outline is not None and (outline.get(f"{W}val") or "").isdigit():
            level = (
                int(outline.get(f"{W}val") or 0) + 1 if int(outline.get(f"{W}val") or 0) < 9 else 0
            )
        if level:
            levels[style_id] = level
    return levels


def _level(style: str) -> int:
    if style.lower() == "title":
        return 1
    match = re.fullmatch(r"heading\s?(\d)", style, re.I)
    return int(match.group(1)) if match else 0


def _text(paragraph: object) -> str:
    parts = []
    for el in paragraph.iter():  # type: ignore[attr-defined]
        if el.tag == f"{W}t":
            parts.append(el.text or "")
        elif el.tag == f"{W}tab":
            parts.append("\t")
        elif el.tag in (f"{W}br", f"{W}cr"):
            parts.append("\n")
    return "".join(parts).strip()


def _blocks(stream: object, levels: dict[str, int]) -> list[Block]:
    from lxml import etree

    blocks: list[Block] = []
    path: list[str] = []
    lines: list[str] = []
    rows: list[str] = []
    cells: list[str] = []
    cell: list[str] = []
    tables = 0

    def flush(lines: list[str]) -> None:
        if any(line.strip() for line in lines):
            blocks.append(Block("\n".join(lines), None, list(path)))
        lines.clear()

    events = etree.iterparse(stream, events=("start", "end"), **_parser_options())
    try:
        for event, el in events:
            if el.tag == f"{W}tbl":
                if event == "start":
                    tables += 1
                    if tables == 1:
                        flush(lines)
                    continue
                tables -= 1
                if tables == 0:
                    flush(rows)
                    el.clear()
            elif event == "start":
                continue
            elif el.tag == f"{W}p":
                text = _text(el)
                if tables:
                    cell.append(text)
                else:
                    style = el.find(f"{W}pPr/{W}pStyle")
                    level = levels.get(style.get(f"{W}val") or "", 0) if style is not None else 0
                    if level and text:
                        flush(lines)
                        path = path[: level - 1] + [text]
                    elif text:
                        lines.append(text)
                    el.clear()  # streamed: a paragraph's elements are freed once read
            elif el.tag == f"{W}tc":
                cells.append(" ".join(c for c in cell if c))
                cell.clear()
            elif el.tag == f"{W}tr":
                if any(cells):
                    rows.append(" | ".join(cells))
                cells.clear()
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"damaged XML: {exc}") from exc
    flush(lines)
    return blocks
