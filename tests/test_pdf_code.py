"""A PDF's lines set in a typewriter face are code: found by their font (PDFium's)."""

from __future__ import annotations

from fpdf import FPDF

from ingest.loaders import load_bytes
from rag.render import reflow, source_markdown
from tests.conftest import PDFS

LIMIT = 10_000_000
PROSE = "To fit the model and see its coefficients, type these two lines at the prompt of R:"


def _pdf(lines: list[tuple[str, str]]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    for font, text in lines:
        pdf.set_font(font, size=11)
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_lines_in_a_typewriter_face_are_code() -> None:
    lines = [
        ("helvetica", PROSE),
        ("courier", "> fit <- lm(weight ~ height, data = people)"),
        ("courier", "> summary(fit)"),
        ("helvetica", "The summary names each coefficient and its standard error."),
    ]
    block = load_bytes("fit.pdf", _pdf(lines), LIMIT).blocks[0]
    code = "> fit <- lm(weight ~ height, data = people)\n> summary(fit)"
    assert [block.text[s:e] for s, e in block.code] == [code]


def test_a_line_ending_in_the_texts_own_font_is_prose() -> None:
    # "summary(fit)" in Courier, then "." in Helvetica: a sentence's end, not a line of code
    pdf = FPDF()
    pdf.add_page()
    for pieces in [[("helvetica", PROSE)], [("courier", "summary(fit)"), ("helvetica", ".")]]:
        for font, text in pieces:
            pdf.set_font(font, size=11)
            pdf.write(text=text)
        pdf.ln()
    pdf.set_font("courier", size=11)
    pdf.write(text="> plot(fit)")
    pdf.ln()
    block = load_bytes("fit.pdf", bytes(pdf.output()), LIMIT).blocks[0]
    assert [block.text[s:e] for s, e in block.code] == ["> plot(fit)"]


def test_a_document_set_all_in_a_typewriter_face_has_no_code() -> None:
    # a text file printed to PDF in Courier: its prose is prose, wrapped lines and all
    lines = [("courier", PROSE), ("courier", "> summary(fit)"), ("helvetica", "Page 1")]
    assert load_bytes("listing.pdf", _pdf(lines), LIMIT).blocks[0].code == []


def test_a_manuals_code_and_output_lines_are_found_and_shown_as_code() -> None:
    data = (PDFS / "R-intro.pdf").read_bytes()
    blocks = load_bytes("R-intro.pdf", data, LIMIT).blocks
    block = next(b for b in blocks if "SSmicmen(x, Vm, K), df)" in b.text)
    code = [block.text[s:e] for s, e in block.code]
    assert "> fit <- nls(y ~ SSmicmen(x, Vm, K), df)" in "\n".join(code)
    assert "residual sum-of-squares: 1195.449" in "\n".join(code)  # R's output too
    assert not any("Michaelis-Menten" in c or "least squares" in c for c in code)  # prose
    # In the source view, the code lines are never joined as wrapped prose (a code line as
    # wide as the page's prose was), the prose still is, and the code is a code block.
    lines = reflow(block.text, code=block.code)
    assert "> x <- c(0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56," in lines
    assert any(
        line.startswith("One way to fit a nonlinear model") and "plausibly" in line
        for line in lines
    )
    shown = source_markdown(block.text, "pdf", block.code)
    assert "```\n> df <- data.frame(x=x, y=y)\n> fit <- nls(y ~ SSmicmen(x, Vm, K), df)\n" in shown
