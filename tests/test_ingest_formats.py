"""Each supported format loads with its structure, and ingests into a real store."""

from __future__ import annotations

import io
import threading

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import load_bytes
from ingest.pipeline import Progress, Source, ingest_sources
from rag.chunks import ChunkMeta
from rag.config import Settings
from rag.embeddings import Embedder
from rag.sentences import is_code, sentence_spans
from rag.system import Docent
from tests.conftest import PDFS
from tests.helpers import FACTS, make_docx, make_pdf

LIMIT = 10 * 2**20


def test_pdf_keeps_pages_and_bookmarked_headings() -> None:
    doc = load_bytes("facts.pdf", make_pdf(FACTS), LIMIT)
    assert doc.kind == "pdf" and doc.pages == 3
    assert [(b.page, b.headings) for b in doc.blocks] == [
        (1, ["Volcanoes"]),
        (2, ["Bees"]),
        (3, ["Glaciers"]),
    ]
    assert "waggle dance" in doc.blocks[1].text


def test_pdf_page_ending_in_two_short_sections_loads_whole() -> None:
    # The gnuplot manual has pages like this: a long section, then two bookmarked headings
    # with a line or less under them. The loader once crashed on it (StopIteration).
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    sections = [
        ("Overview", "Gnuplot is a portable command-line driven graphing utility " * 3),
        ("Reference", ""),
        ("Options", "See below."),
    ]
    for heading, body in sections:
        pdf.start_section(heading)
        pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
        if body:
            pdf.multi_cell(0, 6, body)
    doc = load_bytes("manual.pdf", bytes(pdf.output()), LIMIT)
    text = "\n".join(b.text for b in doc.blocks)
    assert all(heading in text for heading, _ in sections) and "See below." in text
    assert [b.page for b in doc.blocks] == [1] and doc.blocks[0].headings == ["Overview"]


def test_pdf_text_is_the_same_shape_when_pdfium_cannot_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ingest.pdf

    data = make_pdf(FACTS)
    fast = load_bytes("facts.pdf", data, LIMIT)
    monkeypatch.setattr(ingest.pdf, "_pdfium_texts", lambda _data, _pages: None)
    slow = load_bytes("facts.pdf", data, LIMIT)
    assert [(b.page, b.headings) for b in slow.blocks] == [
        (b.page, b.headings) for b in fast.blocks
    ]
    assert [" ".join(b.text.split()) for b in slow.blocks] == [
        " ".join(b.text.split()) for b in fast.blocks
    ]


def test_real_pdf_words_broken_at_line_ends_are_joined() -> None:
    doc = load_bytes("R-admin.pdf", (PDFS / "R-admin.pdf").read_bytes(), LIMIT)
    page = "\n".join(b.text for b in doc.blocks if b.page == 28)
    assert "Section “Invoking R”" in page  # printed as "In-" / "voking R" across two lines
    assert "\x02" not in page and "\r" not in page


def test_dehyphenate_keeps_real_compounds() -> None:
    from ingest.pdf import _dehyphenate

    pages = ["infor\x02mation on Unix\ufffealikes", "more information, for Unix-alikes"]
    assert _dehyphenate(pages)[0] == "information on Unix-alikes"
    assert _dehyphenate(["state\x02of\x02the\x02art"]) == ["state-of-the-art"]


def test_docx_keeps_headings() -> None:
    data = make_docx([("Intro", ["First paragraph."]), ("Details", ["Second one.", "Third."])])
    doc = load_bytes("notes.docx", data, LIMIT)
    assert [(b.headings, b.text) for b in doc.blocks] == [
        (["Intro"], "First paragraph."),
        (["Details"], "Second one.\nThird."),
    ]


def test_docx_lists_keep_their_markers_and_footnotes_are_read() -> None:
    # List items lost their bullets and numbers (run together into one "sentence"), and
    # footnotes, kept by Word in a part of their own, were not read at all.
    import zipfile

    import docx

    document = docx.Document()
    document.add_heading("Holidays", level=1)
    document.add_paragraph("The rules:")
    document.add_paragraph("Carry-over is limited to five days", style="List Bullet")
    document.add_paragraph("Requests must be filed two weeks ahead", style="List Bullet")
    document.add_paragraph("Open the HR portal", style="List Number")
    document.add_paragraph("Choose the dates", style="List Number")
    out = io.BytesIO()
    document.save(out)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    notes = (
        f'<w:footnotes {w}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>—</w:t>'
        '</w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>Part-time staff '
        "receive holiday pro rata.</w:t></w:r></w:p></w:footnote></w:footnotes>"
    )
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("word/footnotes.xml", notes)
    doc = load_bytes("rules.docx", out.getvalue(), LIMIT)
    assert doc.blocks[0].text == (
        "The rules:\n- Carry-over is limited to five days\n"
        "- Requests must be filed two weeks ahead\n1. Open the HR portal\n2. Choose the dates"
    )
    assert (doc.blocks[1].headings, doc.blocks[1].text) == (
        ["Footnotes"],
        "Part-time staff receive holiday pro rata.",
    )


def test_markdown_headings_but_not_inside_code() -> None:
    text = (
        "# Guide\nintro\n## Setup\nrun it\n```\n# not a heading\n```\n"
        "    # indented code, not a heading\nUsage\n-----\nsetext heading above\n"
    )
    doc = load_bytes("guide.md", text.encode(), LIMIT)
    assert [b.headings for b in doc.blocks] == [
        ["Guide"],
        ["Guide", "Setup"],
        ["Guide", "Usage"],
    ]
    assert "# not a heading" in doc.blocks[1].text
    assert "# indented code" in doc.blocks[1].text
    assert doc.blocks[2].text == "setext heading above"


def test_headings_alone_are_text() -> None:
    # A title-only record or an outline has words to find; it used to fail as "no readable
    # text", because every block's text was the body under a heading.
    doc = load_bytes("outline.md", b"# Field guide\n## Alpine flowers\n", LIMIT)
    assert [(b.headings, b.text) for b in doc.blocks] == [([], "Field guide\nAlpine flowers")]
    with_body = load_bytes("guide.md", b"# Field guide\n## Alpine flowers\nEdelweiss.\n", LIMIT)
    assert [b.text for b in with_body.blocks] == ["Edelweiss."]  # headings stay a path
    html = b"<html><body><h1>Field <em>guide</em></h1><h2>Alpine flowers</h2></body></html>"
    page = load_bytes("outline.html", html, LIMIT)
    assert [(b.headings, b.text) for b in page.blocks] == [([], "Field guide\nAlpine flowers")]
    outline = make_docx([("Field guide", []), ("Alpine flowers", [])])
    word = load_bytes("outline.docx", outline, LIMIT)
    assert [(b.headings, b.text) for b in word.blocks] == [([], "Field guide\nAlpine flowers")]
    rst = b"Field guide\n===========\n\nAlpine flowers\n==============\n"
    sections = load_bytes("outline.rst", rst, LIMIT)  # two titles of one level: both kept
    assert [(b.headings, b.text) for b in sections.blocks] == [([], "Field guide\nAlpine flowers")]


RST = """\
=============
 Field guide
=============

Intro to the guide.

Alpine flowers
==============

Edelweiss grows on limestone.

Where to look
-------------

Above the tree line::

    Heading-like text in a literal block
    ====================================

Marmots
=======

Rule shorter than its title
---

Marmots whistle.
"""


def _docx_lines(lines: list[tuple[str, str | None]]) -> bytes:
    """A DOCX of paragraphs, each ``(text, font)`` (``None``: the style's own)."""
    import docx

    document = docx.Document()
    for text, font in lines:
        run = document.add_paragraph().add_run(text)
        run.font.name = font
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_paragraphs_in_a_typewriter_font_are_code() -> None:
    data = _docx_lines(
        [
            ("To fit the model, type:", None),
            ("> fit <- lm(y ~ x)", "Courier New"),
            ("    > summary(fit)", "Consolas"),
            ("It prints the coefficients.", None),
        ]
    )
    block = load_bytes("fit.docx", data, LIMIT).blocks[0]
    # the code's lines, its indentation kept; the prose is not code
    assert [block.text[s:e] for s, e in block.code] == ["> fit <- lm(y ~ x)\n    > summary(fit)"]
    # a document typed all in Courier is prose in that font: none of it is code
    typed = _docx_lines([("Dear Sir,", "Courier New"), ("Thank you.", "Courier New")])
    assert load_bytes("letter.docx", typed, LIMIT).blocks[0].code == []


def test_markdown_indented_code_blocks_are_code() -> None:
    md = (
        "# Tool\n\nPack and check:\n\n    archive pack project/\n        --exclude build/\n\n"
        "Then more.\n\n- an item\n\n      its own paragraph\n\n```sh\nfenced\n```\n"
    )
    block = load_bytes("tool.md", md.encode(), LIMIT).blocks[0]
    # a fenced block is a sentence of code already; one indented inside a list is the list's
    assert [block.text[s:e] for s, e in block.code] == [
        "    archive pack project/\n        --exclude build/"
    ]


def test_rst_literal_and_doctest_blocks_are_code() -> None:
    rst = (
        "To check the tree, type::\n\n    stylecheck --all src/\n        --report r.txt\n\n"
        "It stops.\n\n.. code-block:: python\n   :linenos:\n\n   x = 1\n   print(x)\n\n"
        "In a session:\n\n>>> 1 + 1\n2\n\nDone, with an ending colon: and no block.\n\n"
        # a directive's name ends in "::" too; a note's body is prose, not a literal block
        ".. note::\n\n   Back up first.\n\n.. Warning:: Not as root.\n\n   Nor as anyone else.\n"
    )
    block = load_bytes("guide.rst", rst.encode(), LIMIT).blocks[0]
    assert block.text.startswith("To check the tree, type:\n\n    stylecheck")  # "::" shows ":"
    assert ".. code-block::" not in block.text and ":linenos:" not in block.text
    assert [block.text[s:e] for s, e in block.code] == [
        "    stylecheck --all src/\n        --report r.txt",
        "   x = 1\n   print(x)",
        ">>> 1 + 1\n2",
    ]


def test_myst_notes_are_prose_and_its_code_stays_code() -> None:
    # MyST (Sphinx's Markdown, as in pip's docs) writes a note as a fenced block named in
    # braces: read as CommonMark it was code, indexed and quoted as a code block.
    md = (
        "# Auth\n\nCredentials come from the URL.\n```{note}\n:class: dropdown\n"
        "Only ASCII is allowed in `.netrc` files.\n```\n\n```{versionadded} 10.0\n```\n\n"
        ":::{warning}\nNever commit a password.\n:::\n\n```{admonition} Keyring\n"
        "Keyring support comes from {pypi}`keyring`.\n```\n\n(install-keyring)=\n\n"
        "```{code-block} bash\n"
        "pip install keyring\n```\n\n```{toctree}\nindex\n```\n"
    )
    (block,) = load_bytes("auth.md", md.encode(), LIMIT).blocks
    assert block.text == (
        "Credentials come from the URL.\n\nNote:\nOnly ASCII is allowed in `.netrc` files."
        "\n\nNew in version 10.0.\n\nWarning:\nNever commit a password.\n\nKeyring:\n"
        "Keyring support comes from `keyring`.\n\n```{code-block} bash\npip install keyring"
        "\n```"  # and a table of contents is navigation, left out
    )
    spans = sentence_spans(block.text)
    code = [block.text[s:e] for s, e in spans if is_code(block.text[s:e])]
    assert code == ["```{code-block} bash\npip install keyring\n```"]
    plain = "Not MyST: {braces} stay, and so does ```{note}``` inline.\n"
    assert load_bytes("plain.md", plain.encode(), LIMIT).blocks[0].text == plain.strip()


def test_rst_markup_is_read_as_the_text_it_shows() -> None:
    # As in pip's docs: a hyperlink target, a comment, a custom directive with options and
    # roles were indexed and quoted as written (".. _`FileLogging`:" was an answer's quote).
    rst = (
        ":orphan:\n\n.. _`FileLogging`:\n\nFile logging\n============\n\n"
        "pip offers the :ref:`--log <--log>` option; see :doc:`../topics/configuration`\n"
        "and :py:func:`~logging.basicConfig`.\n\n"
        ".. This comment is for the editors,\n   over two lines.\n\n"
        ".. toctree::\n   :maxdepth: 2\n\n   install\n\n"
        ".. versionadded:: 20.1\n\n.. warning:: The log grows forever.\n\n"
        ".. [1] A footnote stays.\n\n.. code-block:: shell\n\n   pip --log pip.log install x\n"
        "\nA role is written so::\n\n   :ref:`--log <--log>`\n"
    )
    (block,) = load_bytes("pip.rst", rst.encode(), LIMIT).blocks
    assert block.headings == ["File logging"]
    assert " ".join(block.text.split()) == (
        "pip offers the --log option; see ../topics/configuration and logging.basicConfig. "
        "New in version 20.1. Warning: The log grows forever. [1] A footnote stays. "
        "pip --log pip.log install x "  # a code directive marks code, and is not shown
        "A role is written so: :ref:`--log <--log>`"  # code is kept as written
    )
    code = ["   pip --log pip.log install x", "   :ref:`--log <--log>`"]
    assert [block.text[s:e] for s, e in block.code] == code


def test_rst_sections_become_headings() -> None:
    doc = load_bytes("guide.rst", RST.encode(), LIMIT)
    assert doc.kind == "text"
    assert [b.headings for b in doc.blocks] == [
        ["Field guide"],
        ["Field guide", "Alpine flowers"],
        ["Field guide", "Alpine flowers", "Where to look"],
        ["Field guide", "Marmots"],
    ]
    assert [b.text for b in doc.blocks[:2]] == [
        "Intro to the guide.",
        "Edelweiss grows on limestone.",
    ]
    # an indented line is code, not a title, whatever follows it
    assert "    Heading-like text in a literal block\n    ====" in doc.blocks[2].text
    assert doc.blocks[3].text == "Rule shorter than its title\n---\n\nMarmots whistle."


def test_markdown_front_matter_is_kept_as_text() -> None:
    # Read as Markdown, "---" / "title: ..." / "---" is a rule and a setext heading: the
    # fields were lost, and a chunk of "---" was indexed.
    text = (
        "---\ntitle: Release notes\nauthor: Jane Release\n---\n# Known issues\nDark mode resets.\n"
    )
    doc = load_bytes("notes.md", text.encode(), LIMIT)
    assert [(b.headings, b.text) for b in doc.blocks] == [
        ([], "title: Release notes\nauthor: Jane Release"),
        (["Known issues"], "Dark mode resets."),
    ]
    rule = load_bytes("rule.md", b"---\nJust a rule above.\n", LIMIT)  # no fields: a rule
    assert [b.text for b in rule.blocks] == ["---\nJust a rule above."]


def test_html_drops_scripts_and_keeps_headings() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body><h1>Top</h1>"
        "<p>Hello <b>bold</b> world</p><script>alert('x')</script><h2>Sub</h2><p>More</p>"
        "</body></html>"
    )
    doc = load_bytes("page.html", html.encode(), LIMIT)
    assert [(b.headings, b.text) for b in doc.blocks] == [
        (["Top"], "Hello bold world"),
        (["Top", "Sub"], "More"),
    ]


def test_html_leaves_out_the_site_around_the_page() -> None:
    html = (
        "<body><header><a href='/'>Home</a> | <a>About us</a> | <a>Login</a></header>"
        "<nav><a>Docs</a> <a>Blog</a></nav><main><article><header><h1>Widget</h1>"
        "<p>By Ann</p></header><h2>Install</h2><p>Run the installer.</p>"
        "<footer><p>Article footnote kept.</p></footer></article></main>"
        "<div role='contentinfo'>Cookie settings</div><footer>Copyright 2024 Widget Corp.</footer>"
        # Texinfo's (GNU manuals) and Sphinx's: a div of class "header" or "footer"
        "<div class='section'><div class='header'><p>Next: Setup, Up: Widget [Index]</p></div>"
        "<p>A texinfo page's text.</p></div><div class='footer'>Created using Sphinx.</div>"
        "<div class='toctree-wrapper compound'><ul><li><a href='install.html'>1. Install</a>"
        "</li></ul></div>"
        "</body>"
    )
    doc = load_bytes("page.html", html.encode(), LIMIT)
    text = "\n".join(b.text for b in doc.blocks)
    for chrome in ("Home", "Login", "Blog", "Cookie", "Copyright", "Next:", "Sphinx", "1."):
        assert chrome not in text
    assert "A texinfo page's text." in text
    assert "By Ann" in text and "Run the installer." in text and "Article footnote kept." in text
    only = load_bytes("nav.html", b"<nav><p>Only a menu here.</p></nav>", LIMIT)
    assert [b.text for b in only.blocks] == ["Only a menu here."]  # all there is: kept


def test_html_preformatted_text_keeps_its_lines() -> None:
    # A <pre> program or shell session was run together on one line: shown so in a source,
    # and handed so to the LLM. Its lines and their indentation are kept (blank ones dropped).
    html = (
        "<body><h1>Query</h1><p>Run it as follows:</p><pre>SELECT <b>name</b>\n"
        "  FROM people\n\n WHERE age &gt; 30;</pre><p>It lists them.</p></body>"
    )
    doc = load_bytes("query.html", html.encode(), LIMIT)
    assert doc.blocks[0].text == (
        "Run it as follows:\nSELECT name\n  FROM people\n WHERE age > 30;\nIt lists them."
    )
    # where the <pre> is goes with the text to each chunk and its stored form, so a quote can
    # show those lines as code (a chunk's offsets; "<b>name</b>" does not split it)
    code = ["SELECT name\n  FROM people\n WHERE age > 30;"]
    assert [doc.blocks[0].text[s:e] for s, e in doc.blocks[0].code] == code
    chunks = chunk_document(doc, 8, 2, lambda t: len(t.split()), 256)
    assert len(chunks) > 1
    shown = [c.text[s:e] for c in chunks for s, e in c.code]
    assert " ".join(shown).split() == code[0].split()  # each code word in a chunk's span
    assert "Run" not in " ".join(shown) and "lists" not in " ".join(shown)
    meta = chunks[1].meta("query.html", "d", "html")
    assert ChunkMeta.from_json(meta.to_json()) == meta and meta.code_spans


def test_a_sphinx_page_reads_as_its_reader_sees_it() -> None:
    # A real generated page (Python's tutorial). Its highlighted code is a <span> per token
    # with the line ends in text nodes between them: it was indexed and quoted as
    # ">>> if the_world_is_flat : ... print ( ...", one line. Each heading path ended in the
    # page's "¶" link, and the site's footer ("© Copyright 2001-...") ran on from the
    # last section's text.
    data = (PDFS / "python-tutorial-interpreter.html").read_bytes()
    doc = load_bytes("interpreter.html", data, LIMIT)
    session = (
        ">>> the_world_is_flat = True\n>>> if the_world_is_flat:\n"
        '...     print("Be careful not to fall off!")\n...\nBe careful not to fall off!'
    )
    block = next(b for b in doc.blocks if "the_world_is_flat" in b.text)
    assert session in block.text
    assert session in [block.text[s:e] for s, e in block.code]  # and it is code
    assert block.headings == [
        "2. Using the Python Interpreter",
        "2.1. Invoking the Interpreter",
        "2.1.2. Interactive Mode",
    ]
    assert not any("¶" in h for b in doc.blocks for h in b.headings)
    text = "\n".join(b.text for b in doc.blocks)
    assert "Copyright" not in text and "Sphinx" not in text
    assert doc.blocks[-1].text.endswith("a simultaneously installed Python 2.x executable.")
    # inline tags are words of the sentence, not words apart: "(E.g., /usr/local/python is"
    assert "in command, analogous to the shell’s -c option." in text
    assert "quit()." in text and "( E.g." not in text


def test_html_inline_tags_join_as_the_browser_shows_them() -> None:
    html = (
        '<body><h1>Title<a class="hash-link" href="#title">\u200b</a></h1>'
        "<p>Call <code>f</code>(x), not (<code>g</code>).<br>Next line"
        "<b>bold</b>end.</p><details><summary>More</summary>Hidden text</details></body>"
    )
    # Pygments' line numbers (Sphinx's :linenos:, MkDocs' tables) are not the code's text
    numbered = (
        b'<pre><span class="linenos">1</span>x = 1\n<span class="linenos">2</span>y = 2</pre>'
        b"<p>And in a table:</p>"
        b'<table class="highlighttable"><tr><td class="linenos"><div class="linenodiv"><pre>'
        b'1\n2</pre></div></td><td class="code"><pre>a = 1\nb = 2</pre></td></tr></table>'
    )
    note = b'<div class="admonition note"><p class="admonition-title">Note</p><p>Mind it.</p>'
    assert load_bytes("note.html", note, LIMIT).blocks[0].text == "Note:\nMind it."
    code = load_bytes("numbered.html", numbered, LIMIT).blocks[0]
    assert [code.text[s:e] for s, e in code.code] == ["x = 1\ny = 2", "a = 1\nb = 2"]
    nested = load_bytes("nested.html", b"<pre>outer <pre>inner\nline</pre> tail</pre>", LIMIT)
    assert nested.blocks[0].text == "outer inner\nline tail"  # once, not the inner twice
    doc = load_bytes("inline.html", html.encode(), LIMIT)
    assert doc.blocks[0].headings == ["Title"]  # Docusaurus's heading link: a zero-width space
    assert doc.blocks[0].text == "Call f(x), not (g). Next lineboldend.\nMore\nHidden text"


def test_csv_rows_are_records_with_their_header() -> None:
    doc = load_bytes("people.csv", b"name,city\nAda,London\nGrace,Arlington\n", LIMIT)
    assert [b.text for b in doc.blocks] == [
        "name: Ada\ncity: London",
        "name: Grace\ncity: Arlington",
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-8-sig", "cp1252"])
def test_text_encodings(encoding: str) -> None:
    text = "Café crème brûlée, naïve façade — déjà vu. " * 20
    doc = load_bytes("menu.txt", text.encode(encoding), LIMIT)
    assert doc.blocks[0].text.strip() == text.strip()


def test_chunks_of_real_pdfs_fit_the_embedding_model(
    embedder: Embedder, settings: Settings
) -> None:
    for path in sorted(PDFS.glob("*.pdf")):
        doc = load_bytes(path.name, path.read_bytes(), settings.max_file_bytes)
        chunks = chunk_document(
            doc,
            settings.chunk_size,
            settings.chunk_overlap,
            embedder.count_tokens,
            embedder.max_tokens,
        )
        full = "\n\n".join(b.text for b in doc.blocks)
        assert len(chunks) > 100
        for chunk in chunks:
            assert embedder.count_tokens(chunk.embed_text()) <= embedder.max_tokens
            assert full[chunk.char_start : chunk.char_end] == chunk.text
            assert chunk.page is not None and 1 <= chunk.page <= doc.pages
        # bookmarked sections give most chunks a heading path
        assert sum(bool(c.headings) for c in chunks) > 0.9 * len(chunks)


def test_dense_text_is_split_to_the_model_limit(embedder: Embedder) -> None:
    # Hex strings take several word pieces per tiktoken token: tiktoken size alone would overflow.
    text = " ".join(f"{i * 7919:x}{i * 104729:x}" for i in range(3000))
    doc = load_bytes("hex.txt", text.encode(), LIMIT)
    chunks = chunk_document(doc, 200, 30, embedder.count_tokens, embedder.max_tokens)
    assert max(embedder.count_tokens(c.embed_text()) for c in chunks) <= embedder.max_tokens
    covered = {word for c in chunks for word in c.text.split()}
    assert set(text.split()) <= covered  # nothing was cut off


def test_embedding_progress_moves_within_one_model_call(docent: Docent) -> None:
    # A file's chunks go to the model in one call; the bar used to sit at 0 until it ended.
    text = "".join(f"# Part {i}\nPart {i} is about topic number {i}.\n\n" for i in range(80))
    seen: list[tuple[int, int]] = []
    results = ingest_sources(
        [Source.from_bytes("parts.md", text.encode())],
        docent.collection(),
        docent.embedder,
        docent.settings,
        progress=lambda p: seen.append((p.done, p.of)) if p.stage == "embedding" else None,
    )
    assert results[0].status == "indexed" and results[0].chunks == 80
    assert len(seen) >= 3 and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[0] == (0, 80) and seen[-1] == (80, 80)


def test_reading_is_reported_before_a_file_is_read(docent: Docent) -> None:
    # A large file takes a while to read: the bar said nothing about it until it had been.
    heard: list[str] = []
    told = {name: threading.Event() for name in ("first.md", "second.md")}

    def report(p: Progress) -> None:
        if p.stage == "reading":
            told[p.name].set()

    def source(name: str) -> Source:
        data = f"# {name}\nThe {name} file says hello.\n".encode()

        def read() -> bytes:
            # Waits for the report (it comes first) rather than racing it; False after 10 s.
            heard.append(f"{name}: {told[name].wait(10)}")
            return data

        return Source(name, read, len(data))

    results = ingest_sources(
        [source("first.md"), source("second.md")],
        docent.collection(),
        docent.embedder,
        docent.settings,
        progress=report,
    )
    assert [r.status for r in results] == ["indexed", "indexed"]
    assert heard == ["first.md: True", "second.md: True"]


def test_ingest_every_format_then_search(docent: Docent) -> None:
    sources = [
        Source.from_bytes("facts.pdf", make_pdf(FACTS)),
        Source.from_bytes("notes.docx", make_docx([("Owls", ["Barn owls hunt by sound alone."])])),
        Source.from_bytes("guide.md", b"# Tea\nGreen tea is steamed to stop oxidation.\n"),
        Source.from_bytes("page.html", b"<h1>Rust</h1><p>Iron oxide forms with water.</p>"),
        Source.from_bytes("data.csv", b"planet,moons\nMars,2\nJupiter,95\n"),
        Source.from_bytes("plain.txt", "Le café est chaud.".encode("latin-1")),
    ]
    seen: list[Progress] = []
    results = ingest_sources(
        sources, docent.collection(), docent.embedder, docent.settings, progress=seen.append
    )
    assert [r.status for r in results] == ["indexed"] * 6, results
    stages = [p.stage for p in seen]
    assert stages.count("done") == 6 and "embedding" in stages
    # the six small files are embedded together, and the report says so
    assert {p.name for p in seen if p.stage == "embedding"} == {"facts.pdf and 5 more"}
    top = docent.search("how do bees tell direction", k=1).passages[0]
    assert (top.source, top.page, top.headings) == ("facts.pdf", 2, ["Bees"])
    # Chroma keeps the heading path as a string, the durable copy as a list
    raw = docent.library.vectors.client.get_collection(docent.settings.collection)
    assert raw.get(ids=[top.chunk_id])["metadatas"][0]["headings"] == "Bees"
    names = {d.name for d in docent.collection().documents()}
    assert names == {s.name for s in sources}
