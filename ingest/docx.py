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

from ingest.document import Block, LoadedDocument, line_spans, or_headings
from ingest.errors import IngestError
from ingest.pdf_code import MONO_FONT

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
        styles = _xml(archive, "word/styles.xml")  # read once: headings and list styles
        try:
            with document:
                blocks = _blocks(
                    document,
                    _heading_levels(styles),
                    _list_formats(archive),
                    _style_lists(styles),
                    _code_styles(styles),
                )
            return LoadedDocument(name, "docx", 0, blocks + _notes(archive))
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


def _heading_levels(root: object | None) -> dict[str, int]:
    """Paragraph style id -> heading level (1 = Title or Heading 1), from word/styles.xml."""
    levels: dict[str, int] = {}
    for style in [] if root is None else root.iter(f"{W}style"):  # type: ignore[attr-defined]
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


def _xml(archive: zipfile.ZipFile, part: str) -> object | None:
    """A part's parsed root, or None if the document has no such part (or it is damaged)."""
    from lxml import etree

    try:
        with archive.open(part) as stream:
            return etree.parse(stream, etree.XMLParser(**_parser_options())).getroot()
    except (KeyError, etree.XMLSyntaxError):
        return None


def _list_formats(archive: zipfile.ZipFile) -> dict[tuple[str, str], str]:
    """``(numId, ilvl)`` -> number format ("bullet", "decimal", ...) from word/numbering.xml:
    what a list paragraph shows before its text, which Word draws and the text lacks."""
    root = _xml(archive, "word/numbering.xml")
    if root is None:
        return {}
    abstract: dict[str, dict[str, str]] = {}
    for node in root.iter(f"{W}abstractNum"):  # type: ignore[attr-defined]
        levels = abstract.setdefault(node.get(f"{W}abstractNumId") or "", {})
        for lvl in node.iter(f"{W}lvl"):
            fmt = lvl.find(f"{W}numFmt")
            levels[lvl.get(f"{W}ilvl") or "0"] = (
                fmt.get(f"{W}val") if fmt is not None else ""
            ) or ""
    formats: dict[tuple[str, str], str] = {}
    for num in root.iter(f"{W}num"):  # type: ignore[attr-defined]
        ref = num.find(f"{W}abstractNumId")
        for ilvl, fmt in abstract.get(ref.get(f"{W}val") if ref is not None else "", {}).items():
            formats[(num.get(f"{W}numId") or "", ilvl)] = fmt
    return formats


def _style_lists(root: object | None) -> dict[str, tuple[str, str]]:
    """Paragraph style id -> ``(numId, ilvl)`` for styles that make a list ("List Bullet"),
    from word/styles.xml: their paragraphs carry no numbering of their own."""
    styles: dict[str, tuple[str, str]] = {}
    for style in [] if root is None else root.iter(f"{W}style"):  # type: ignore[attr-defined]
        num = style.find(f"{W}pPr/{W}numPr")
        if num is not None:
            styles[style.get(f"{W}styleId") or ""] = _numbering(num)
    return styles


def _numbering(num: object) -> tuple[str, str]:
    """``(numId, ilvl)`` of a ``w:numPr`` element (level 0 if it names none)."""
    num_id = num.find(f"{W}numId")  # type: ignore[attr-defined]
    ilvl = num.find(f"{W}ilvl")  # type: ignore[attr-defined]
    return (
        (num_id.get(f"{W}val") or "") if num_id is not None else "",
        (ilvl.get(f"{W}val") or "0") if ilvl is not None else "0",
    )


def _notes(archive: zipfile.ZipFile) -> list[Block]:
    """Footnotes and endnotes, each a block of their own (Word keeps them in parts apart from
    the body: "Part-time staff receive holiday pro rata" may be only there)."""
    blocks = []
    for part, kind, title in (
        ("word/footnotes.xml", "footnote", "Footnotes"),
        ("word/endnotes.xml", "endnote", "Endnotes"),
    ):
        root = _xml(archive, part)
        if root is None:
            continue
        notes = [
            " ".join(t for t in (_text(p) for p in note.iter(f"{W}p")) if t)
            for note in root.iter(f"{W}{kind}")  # type: ignore[attr-defined]
            if note.get(f"{W}type") in (None, "normal")  # not the separator lines
        ]
        if any(notes):
            blocks.append(Block("\n".join(n for n in notes if n), None, [title]))
    return blocks


# A paragraph style for code, by its name or id: "HTML Preformatted", "Source Code", "Code".
_CODE_STYLE = re.compile(r"(?i)code|preformatted|verbatim|listing|console|terminal")


def _code_styles(root: object | None) -> set[str]:
    """Paragraph style ids for code: named so, or set in a typewriter font."""
    ids: set[str] = set()
    for style in [] if root is None else root.iter(f"{W}style"):  # type: ignore[attr-defined]
        style_id = style.get(f"{W}styleId") or ""
        name_el = style.find(f"{W}name")
        name = (name_el.get(f"{W}val") if name_el is not None else "") or ""
        fonts = style.find(f"{W}rPr/{W}rFonts")
        font = (fonts.get(f"{W}ascii") or "") if fonts is not None else ""
        if _CODE_STYLE.search(f"{name} {style_id}") or MONO_FONT.search(font):
            ids.add(style_id)
    return ids


def _is_code(paragraph: object, code_styles: set[str]) -> bool:
    """Whether a paragraph is code: in a code style, or every run of text in its own
    typewriter font (Word users often set code in Courier New or Consolas by hand)."""
    style = paragraph.find(f"{W}pPr/{W}pStyle")  # type: ignore[attr-defined]
    if style is not None and (style.get(f"{W}val") or "") in code_styles:
        return True
    runs = [r for r in paragraph.iter(f"{W}r") if r.find(f"{W}t") is not None]  # type: ignore[attr-defined]
    fonts = [r.find(f"{W}rPr/{W}rFonts") for r in runs]
    return bool(runs) and all(
        f is not None and MONO_FONT.search(f.get(f"{W}ascii") or "") for f in fonts
    )


def _level(style: str) -> int:
    if style.lower() == "title":
        return 1
    match = re.fullmatch(r"heading\s?(\d)", style, re.I)
    return int(match.group(1)) if match else 0


def _text(paragraph: object, keep_indent: bool = False) -> str:
    parts = []
    for el in paragraph.iter():  # type: ignore[attr-defined]
        if el.tag == f"{W}t":
            parts.append(el.text or "")
        elif el.tag == f"{W}tab":
            parts.append("\t")
        elif el.tag in (f"{W}br", f"{W}cr"):
            parts.append("\n")
    text = "".join(parts)
    return text.rstrip() if keep_indent and text.strip() else text.strip()


def _blocks(
    stream: object,
    levels: dict[str, int],
    formats: dict[tuple[str, str], str],
    style_lists: dict[str, tuple[str, str]],
    code_styles: set[str],
) -> list[Block]:
    from lxml import etree

    blocks: list[Block] = []
    path: list[str] = []
    titles: list[str] = []
    lines: list[str] = []
    code: list[bool] = []  # whether each of lines is code
    counted = {False: 0, True: 0}  # paragraphs of prose and of code
    rows: list[str] = []
    cells: list[str] = []
    cell: list[str] = []
    tables = 0
    counts: dict[tuple[str, str], int] = {}

    def marker(paragraph: object) -> str:
        """A list item's bullet or number ("- ", "2. "), indented by its level."""
        num = paragraph.find(f"{W}pPr/{W}numPr")  # type: ignore[attr-defined]
        style = paragraph.find(f"{W}pPr/{W}pStyle")  # type: ignore[attr-defined]
        key = _numbering(num) if num is not None else None
        if key is None and style is not None:
            key = style_lists.get(style.get(f"{W}val") or "")
        if key is None or key[0] == "0":  # numId 0: numbering switched off
            return ""
        fmt = formats.get(key, "bullet")
        indent = "  " * int(key[1]) if key[1].isdigit() else ""
        if fmt == "none":
            return ""
        if fmt == "bullet":
            return f"{indent}- "
        counts[key] = counts.get(key, 0) + 1
        for other in [k for k in counts if k[0] == key[0] and k[1] > key[1]]:
            del counts[other]  # a deeper list starts again under each item
        return f"{indent}{counts[key]}. "

    def flush(lines: list[str]) -> None:
        if any(line.strip() for line in lines):
            spans = line_spans(lines, code) if lines is not rows else []
            blocks.append(Block("\n".join(lines), None, list(path), spans))
        lines.clear()
        if lines is not rows:
            code.clear()

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
                coded = not tables and _is_code(el, code_styles)
                text = _text(el, keep_indent=coded)
                if tables:
                    cell.append(text)
                else:
                    style = el.find(f"{W}pPr/{W}pStyle")
                    level = levels.get(style.get(f"{W}val") or "", 0) if style is not None else 0
                    if level and text:
                        flush(lines)
                        path = path[: level - 1] + [text.strip()]
                        titles.append(text.strip())
                    elif text:
                        lines.append(text if coded else marker(el) + text)
                        code.append(coded)
                        counted[coded] += 1
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
    if counted[True] > counted[False]:  # a document typed in Courier: prose, not code
        for block in blocks:
            block.code = []
    return or_headings(blocks, titles)
