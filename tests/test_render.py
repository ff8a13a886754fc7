"""Untrusted text made safe to show: answers, document text, file names, the chat download."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from rag.render import plain, reflow, safe_markdown, source_markdown
from rag.transcript import chat_markdown, source_labels

# A viewer that renders raw HTML, as many Markdown viewers do (the downloaded transcript).
VIEWER = MarkdownIt("commonmark", {"html": True})

HOSTILE = (
    "Intro ![pixel](http://127.0.0.1:9/t.png) and ![ref][r] then <script>alert(1)</script> "
    '<iframe src="http://127.0.0.1:9"></iframe> <img src=x onerror=alert(1)> '
    "[click](javascript:alert(1)) [page](data:text/html;base64,PHNjcmlwdD4=) "
    "<data:text/html,hi> [ok](https://example.org/docs) [mail](mailto:a@b.org)\n\n"
    "[r]: http://127.0.0.1:9/ref.png\n[bad]: javascript:alert(2)\n"
)


def _assert_inert(html: str) -> None:
    for bad in ("<img", "<script", "<iframe", 'href="javascript', 'href="data:'):
        assert bad not in html, (bad, html)


def test_safe_markdown_keeps_text_and_safe_links_only() -> None:
    # H8: data: links from the LLM stayed clickable; only http(s) and mailto may be links.
    shown = safe_markdown(HOSTILE)
    html = VIEWER.render(shown)
    _assert_inert(html)
    assert 'href="https://example.org/docs"' in html and 'href="mailto:a@b.org"' in html
    assert "[image: pixel]" in html and "click (link removed)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not run


def test_links_with_parentheses_or_escaped_brackets() -> None:
    # A javascript: address with parentheses left a stray ")"; an escaped quote of a link
    # ("\\[click me\\](...)", how the offline answer quotes one) lost its brackets.
    assert safe_markdown("[click](javascript:alert(1)) end") == "click (link removed) end"
    assert safe_markdown("[ok](https://e.org/a_(b))") == "[ok](https://e.org/a_(b))"
    quoted = "\\[click me\\](javascript:alert(2))"
    html = VIEWER.render(safe_markdown(quoted))
    assert "[click me](javascript:alert(2))" in html and "<a " not in html
    sneaky = ["[see [1]](javascript:x)", "[a\\](b) c](javascript:x)", "\\\\[x](javascript:y)"]
    for text in [*sneaky, "[x](javascript:f(1)"]:
        _assert_inert(VIEWER.render(safe_markdown(text)))


def test_code_is_left_exactly_as_written() -> None:
    text = "R prints `x[1] <- 2` and:\n\n```r\n> x <- c(1, 2)\n[1] 42\n![not](an image)\n```\n"
    assert safe_markdown(text) == text  # nothing in code is rewritten
    html = VIEWER.render(safe_markdown(text))
    assert "&lt;- 2" in html and "[1] 42" in html


def test_plain_text_is_shown_literally() -> None:
    name = "![fn](https:127.0.0.1:9?x) <b>x</b>\u202eevil\x00.md"
    html = VIEWER.render(plain(name))
    _assert_inert(html)
    assert "<b>" not in html and "<a " not in html
    assert "\u202e" not in html and "\x00" not in html  # invisible characters made visible
    assert "![fn](https:127.0.0.1:9?x)" in html  # the name, literally


@pytest.mark.parametrize("where", ["question", "answer", "source", "file name"])
def test_the_downloaded_transcript_is_inert_in_any_viewer(where: str) -> None:
    # H7: the Markdown download carried images, <script>, <iframe> and javascript: links.
    fields = {"question": "q?", "answer": "a [1].", "source": "text", "file name": "f.md"}
    fields[where] = HOSTILE
    source = {
        "number": 1,
        "chunk_id": "c1",
        "source": fields["file name"],
        "page": 2,
        "headings": ["Intro ![h](http://127.0.0.1:9/h.png)"],
        "text": fields["source"],
        "scores": {},
    }
    answer = {
        "answer": fields["answer"],
        "mode": "llm",
        "model": "m",
        "reranker": "none",
        "sources": [source],
        "citations": [source],
    }
    messages = [
        {"role": "user", "content": fields["question"], "answer": None},
        {"role": "assistant", "content": fields["answer"], "answer": answer},
    ]
    html = VIEWER.render(chat_markdown(messages))
    _assert_inert(html)
    assert "Sources" in html


def test_sources_with_one_label_show_how_they_begin() -> None:
    def source(text: str, page: int | None, headings: list[str]) -> dict[str, object]:
        return {"source": "zlib.html", "page": page, "headings": headings, "text": text}

    long = "Advanced applications may use   deflateSetDictionary to prime the compressor."
    sources = [
        source("The outer loop ends\nwhen no input is left.", None, ["Usage"]),
        source(long, None, ["Usage"]),
        source("Z_STREAM_END is checked later.", None, ["Errors"]),
        source("Z_STREAM_END is checked later.", 2, ["Usage"]),
    ]
    assert source_labels(sources) == [
        "zlib.html, Usage — “The outer loop ends when no input is left.”",
        "zlib.html, Usage — “Advanced applications may use deflateSetDictionary…”",
        "zlib.html, Errors",  # labels of their own need nothing more
        "zlib.html, p. 2, Usage",
    ]


def test_the_badge_blames_the_llm_only_when_it_failed() -> None:
    from ui.answer_view import badge

    searched = {"mode": "error", "sources": [{"number": 1}]}
    assert "LLM endpoint failed" in badge(searched)
    too_long = {"mode": "error", "sources": []}  # refused before any search: no LLM involved
    assert "LLM" not in badge(too_long) and "did not search" in badge(too_long)
    assert "Quoted" in badge({"mode": "extractive", "sources": []})


def test_the_small_print_names_the_model_only_if_it_was_asked() -> None:
    from ui.answer_view import small_print

    refused = {"mode": "not-found", "model": "stub", "reranker": "learned", "tokens": {}}
    assert "model" not in small_print(refused)  # refused before the model was asked
    judged = refused | {"tokens": {"sources": 9, "history": 0, "answer": 4}}
    assert "model stub" in small_print(judged)  # the model itself said it is not covered
    assert "model stub" in small_print(refused | {"mode": "llm"})


def test_a_chat_downloads_under_its_title() -> None:
    from ui.chats import download_name

    assert download_name("Which port does R use?") == "Which-port-does-R-use.md"
    assert download_name("../../etc/passwd") == "etc-passwd.md"  # never a path
    assert download_name("水の量は？") == "docent-chat.md"
    assert len(download_name("a" * 500)) <= 63


# Found by a walk-through: each made the reader's browser fetch a remote image (from model
# output or a document), or left raw HTML in the downloaded chat, because the text was taken
# for code where a renderer does not see code, or the image's pattern missed it.
MISREAD_AS_CODE = [
    "![alt\nsplit](http://127.0.0.1:9/a.png)",  # alt text over a line break
    "\\`![x](http://127.0.0.1:9/b.png)`",  # an escaped backtick opens no code span
    "`a\n\n![x](http://127.0.0.1:9/c.png)\n\nb`",  # a code span cannot cross a blank line
    "```x`\n![x](http://127.0.0.1:9/d.png)\n",  # a backtick in the info string: no fence
    '\\`<img src="x" onerror="alert(1)">`',
    "- \\`x\n\n  <script>alert(1)</script>\n\n  y`",
    "[e](data:text/html,<script>alert(1)</script>)",
    "[ok](https://e.org) ![x][r] `\n\n[r]: http://127.0.0.1:9/e.png",
]


@pytest.mark.parametrize("text", MISREAD_AS_CODE)
def test_text_taken_for_code_by_mistake_is_still_made_inert(text: str) -> None:
    html = VIEWER.render(safe_markdown(text))
    _assert_inert(html)


def test_indented_code_is_code_and_a_fenced_answer_keeps_its_fence() -> None:
    text = "Assign with:\n\n    x <- c(1, 2)\n    [1] 42\n\nThen print it."
    assert safe_markdown(text) == text  # indented code is left as written, like fenced code
    assert "x &lt;- c(1, 2)" in VIEWER.render(safe_markdown(text))  # shown as "<-" in code


def _pdf_with_prose_table_and_code() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, BEE_PROSE)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Colonies by region:")
    with pdf.table(col_widths=(40, 30, 30), width=100, align="L") as table:
        for cells in (("Region", "Hives", "Yield"), ("Alps", "1200", "18 kg")):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "# define HIVES 3\n_R_CHECK_BEES_ must be set.")
    return bytes(pdf.output())


BEE_PROSE = (
    "Honey bees communicate the direction of flowers with a waggle dance performed inside the "
    "dark hive on vertical comb. The angle of the run from the vertical gives the direction of "
    "the food relative to the sun, and its length the distance."
)


def test_a_pdf_source_is_shown_line_by_line_with_its_wrapped_prose_rejoined() -> None:
    # A PDF passage was shown as Markdown: its table rows ran together on one line, "# define"
    # became a heading and "_R_CHECK_BEES_" emphasis. Its wrapped prose must still read as
    # one paragraph, not as the page's ragged lines.
    from ingest.loaders import load_bytes

    text = load_bytes("bees.pdf", _pdf_with_prose_table_and_code(), 10**7).blocks[0].text
    assert "on\nvertical comb" in text  # the page wraps the prose
    html = VIEWER.render(source_markdown(text, "pdf"))
    lines = [line.strip() for line in html.replace("<p>", "").split("<br />")]
    assert lines[0] == BEE_PROSE  # one line, as written
    assert lines[1:4] == ["Colonies by region:", "Region Hives Yield", "Alps 1200 18 kg"]
    assert "# define HIVES 3" in html and "<h1>" not in html
    assert "_R_CHECK_BEES_ must be set." in html and "<em>" not in html


def test_only_a_markdown_source_is_read_as_markdown() -> None:
    text = "# Bees\n\n- waggle\n- dance\n\nSee <b>this</b>."
    assert "<h1>Bees</h1>" in VIEWER.render(source_markdown(text, "markdown"))
    assert "<li>waggle</li>" in VIEWER.render(source_markdown(text, None))  # saved before kinds
    html = VIEWER.render(source_markdown("Title\nFirst block.\n  - an item\n<b>x</b>", "html"))
    _assert_inert(html)
    assert html.count("<br />") == 3  # each HTML block on its own line, none joined
    assert "\u00a0\u00a0- an item" in html and "<li>" not in html  # indentation kept
    # an HTML page's <pre> lines (where the loader found them) are a code block, as written
    text = "Run it as follows:\nSELECT name\n  FROM people -- ```\n<b>x</b> [1]\nIt lists them."
    code = [(text.index("SELECT"), text.index("\nIt lists"))]
    html = VIEWER.render(source_markdown(text, "html", code))
    _assert_inert(html)
    assert "Run it as follows:</p>\n<pre><code>SELECT name\n  FROM people -- ```\n" in html
    assert "&lt;b&gt;x&lt;/b&gt; [1]\n</code></pre>\n<p>It lists them.</p>" in html


def test_only_wrapped_prose_is_rejoined() -> None:
    wide = "x" * 60
    assert reflow(f"{wide}\n{wide}\nend.") == [f"{wide} {wide} end."]
    assert reflow(f"{wide} as follows:\n{wide}") == [f"{wide} as follows:", wide]
    assert reflow(f"{wide}\n• an item\n{wide};\n{{") == [wide, "• an item", f"{wide};", "{"]
    assert reflow("Region  Hives\nAlps    1200") == ["Region  Hives", "Alps    1200"]
    # two spaces after a full stop are a typist's sentence spacing, not a table's columns
    typed = f"{wide} kept.  This log appends\nto previous logging."
    assert reflow(typed) == [typed.replace("\n", " ")]
    # Two lines of prose over eleven of R code and output: the code's longest lines are not
    # the page's width, so they are not taken for wrapped prose and joined.
    prose = ["The model we have just fitted is the Michaelis-Menten model, so we can" + " x" * 10]
    code = ["> fit <- nls(y ~ SSmicmen(x, Vm, K), df)", "> fit", "Nonlinear regression model"]
    code += [f"model: y ~ SSmicmen(x, Vm, K) {i}" for i in range(8)]
    assert reflow("\n".join(prose * 2 + ["use"] + code)) == [f"{prose[0]} {prose[0]} use", *code]
    # One long URL among wrapped prose does not set the width; a passage of one long line
    # among short ones (a title, a sentence's last words) is still joined.
    url = "https://example.org/" + "a" * 120
    wrapped_prose = ["the bees dance on the comb " * 3] * 5
    joined = " ".join(line.strip() for line in [*wrapped_prose, url])
    assert reflow("\n".join([*wrapped_prose, url])) == [joined]
    assert reflow(f"Bees\n{prose[0]}\nvertical comb.") == ["Bees", f"{prose[0]} vertical comb."]


def test_two_lines_returned_as_one_do_not_set_the_width() -> None:
    # R-exts p. 184 as PDFium reads it: its last two lines come back as one line of 170
    # characters. Taken as the page's width, it left "set to its default" unjoined from
    # "value of C", a break inside the sentence that answers the question.
    page = [
        "in Rinterface.h) subsequently to change this.",
        "Note that R expects to be run with the locale category ‘LC_NUMERIC’ set to its default",
        "value of C, and so should not be embedded into an application which changes that.",
        "It is the user’s responsibility to attempt to initialize only once. To protect the R "
        "interpreter, Rf_initialize_R will exit the process if re-initialization is attempted.",
    ]
    lines = reflow("\n".join(page))
    assert lines[0] == page[0]
    assert lines[1].startswith(f"{page[1]} {page[2]}")
    # two such merged lines among four of wrapped prose: the width is still one line's
    pairs = [f"{page[1]} {page[2]}"] * 2 + page[1:3] * 2
    assert reflow("\n".join(pairs)) == [" ".join(pairs)]


def test_three_pairs_of_lines_returned_as_one_do_not_set_the_width() -> None:
    # R-exts p. 146: three of its lines are pairs PDFium returned as one (113, 165 and 167
    # characters), so "the second longest" was one too, and "...for finding the" (89) was
    # left unjoined from "routines in the DLL."
    page = (
        "In calls to .C, .Call, .Fortran and .External, R must locate the specified native\n"
        "routine by looking in the appropriate shared object/DLL. By default, R uses the "
        "operating-system-specific dynamic loader to lookup the symbol in all4\n"
        "loaded DLLs and the R executable or libraries it is linked to. Alternatively, the "
        "author of the DLL can explicitly\n"
        "register routines with R and use a single, platform-independent mechanism for finding "
        "the\n"
        "routines in the DLL. One can use this registration mechanism to provide additional "
        "information about a routine, including the number and type of the arguments, and also "
        "make it\n"
        "available to R programmers under a different name.\n"
        "3 Strictly this is OS-specific, but no exceptions have been seen for many years."
    )
    lines = reflow(page)
    assert any("mechanism for finding the routines in the DLL. One can" in line for line in lines)
    assert lines[-1].startswith("3 Strictly")  # the footnote is still a line of its own
