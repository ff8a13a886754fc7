"""Real test files made in code: PDFs (fpdf2), DOCX (python-docx), text formats and judged
questions over them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from fpdf import FPDF


def make_pdf(pages: list[tuple[str, str]]) -> bytes:
    """A PDF with one page per (heading, body); headings are bookmarked."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for heading, body in pages:
        pdf.add_page()
        pdf.start_section(heading)
        pdf.set_font("helvetica", "B", 14)
        pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, body)
    return bytes(pdf.output())


def make_docx(sections: list[tuple[str, list[str]]]) -> bytes:
    """A DOCX with a level-1 heading and paragraphs per section."""
    import docx

    document = docx.Document()
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for para in paragraphs:
            document.add_paragraph(para)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


FACTS = [
    (
        "Volcanoes",
        "The Kilauea volcano on Hawaii erupted continuously from 1983 to 2018, "
        "adding new land to the island's south-east coast.",
    ),
    (
        "Bees",
        "Honey bees communicate the direction of flowers with a waggle dance performed "
        "inside the dark hive on vertical comb.",
    ),
    (
        "Glaciers",
        "The Aletsch glacier in the Swiss Alps is the largest glacier in the Alps, "
        "about twenty kilometres long.",
    ),
]

# Judged questions over FACTS as facts.pdf (a fact a page), for `rag eval` and the app's.
BEES_QA = {
    "question": "How do honey bees tell direction?",
    "answer": "waggle dance",
    "doc": "facts.pdf",
    "pages": [2],
}
GLACIER_QA = {
    "question": "Which glacier is the largest in the Alps?",
    "answer": "Aletsch glacier",
    "doc": "facts.pdf",
    "pages": [3],
}
CUP_FINAL_QA = {  # the documents do not answer it
    "question": "Which football club won the 1974 cup final?",
    "answer": None,
    "doc": None,
    "pages": [],
}


def write_qa(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as a QA-lines file at ``path``."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
