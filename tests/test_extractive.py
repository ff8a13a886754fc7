"""The offline answer's sentence choice, with the real packaged model's sentence vectors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from ingest.loaders import load_bytes
from rag.answer import AnswerResult
from rag.chunks import ChunkMeta, ChunkRecord, chunk_id
from rag.embeddings import Embedder
from rag.extractive import WEIGHTS, Weights, extractive_answer, pick_sentences
from rag.fragments import across_pages, marked, whole_span, window_code
from rag.lexical import tokenize
from rag.passage import Passage
from rag.render import safe_markdown
from rag.sentences import clean, is_table, sentence_spans
from rag.system import Docent
from tests.conftest import ingest

SENTENCES = [
    "The nightly backup job starts at 02:00 and copies every database to the storage server.",
    "Every night at two in the morning the backup job starts copying all databases to storage.",
    "At 2 a.m. each night, the backup job begins and copies each database to the storage server.",
    "The nightly backup job starts at 2:00 and copies the databases to the storage server.",
    "Each night the backup job starts at 02:00, copying every database to the storage server.",
    "The backup job starts nightly at 02:00 and copies all the databases to storage.",
    "Backup copies are kept for thirty days before the storage server deletes them.",
    "The cafeteria on the ground floor serves lunch from noon.",
]
QUESTION = "When does the backup job start, and how long are the backup copies kept?"


def _passage(embedder: Embedder, sentences: list[str]) -> Passage:
    text, spans = "", []
    for sentence in sentences:
        start = len(text)
        text += sentence + " "
        spans.append((start, start + len(sentence)))
    meta = ChunkMeta("ops.txt", "d1", 0, sentence_spans=tuple(spans))
    vectors = embedder.encode(sentences)
    record = ChunkRecord("d1:0", text.strip(), meta, embedder.encode([text])[0], vectors)
    return Passage(record)


def test_quoted_sentences_say_different_things(embedder: Embedder) -> None:
    passage = _passage(embedder, SENTENCES)
    query = embedder.encode([QUESTION])[0]
    plain = [s for _, s in pick_sentences(QUESTION, query, [passage], Weights(novelty=0.0))]
    varied = [s for _, s in pick_sentences(QUESTION, query, [passage], WEIGHTS)]
    # without the novelty term, restatements of the start time crowd out how long copies are kept
    assert SENTENCES[6] not in plain
    assert SENTENCES[6] in varied
    assert SENTENCES[7] not in varied


def test_a_sentence_two_overlapping_passages_hold_is_quoted_once(embedder: Embedder) -> None:
    # Neighbouring chunks overlap: one holds the sentence whole, the next only its tail.
    whole = "The nobody user, UID 65534, owns no files and runs daemons that need no rights."
    tail = "UID 65534, owns no files and runs daemons that need no rights."
    first = _passage(embedder, ["Users and groups of the system.", tail])
    second = _passage(embedder, [whole, "Group ids are listed in the group file."])
    question = "What is the UID of the nobody user?"
    vector = embedder.encode([question])[0]
    picked = [s for _, s in pick_sentences(question, vector, [first, second])]
    assert picked.count(whole) == 1 and tail not in picked


def test_an_image_in_a_quote_is_named_not_linked(embedder: Embedder) -> None:
    sentence = "The storage server is in rack 4 ![rack photo](http://127.0.0.1:9/t.png) of room B."
    passage = _passage(embedder, [sentence])
    question = "Where is the storage server?"
    answer = extractive_answer(question, embedder.encode([question])[0], [passage])
    assert "> The storage server is in rack 4 \\[image: rack photo\\] of room B. [1]" in answer
    assert "127.0.0.1" not in answer and "](" not in answer


def test_a_quote_shows_its_text_as_written(embedder: Embedder) -> None:
    from markdown_it import MarkdownIt

    sentence = "Zlib was written by Mark Adler */ /* set R_LIBS_USER to ~/R and _never_ *unset* it."
    passage = _passage(embedder, [sentence])
    question = "Who wrote zlib?"
    answer = extractive_answer(question, embedder.encode([question])[0], [passage])
    html = MarkdownIt("commonmark").enable("strikethrough").render(safe_markdown(answer))
    assert "<em>" not in html.split("</p>", 1)[1] and "<s>" not in html  # no emphasis, no strike
    assert "Mark Adler */ /* set R_LIBS_USER to ~/R and _never_ *unset* it." in html
    assert "R_LIBS_USER" in answer  # identifiers stay readable where the answer is read raw


def test_the_best_sentence_leads_even_from_a_lower_ranked_source(embedder: Embedder) -> None:
    # Sources come in retrieval order; the answer is in the second, and a sentence of the
    # first is quoted too. The answer comes first, with its own citation number.
    question = "How long are the backup copies kept?"
    first = _passage(embedder, [SENTENCES[0], SENTENCES[7]])
    second = _passage(embedder, [SENTENCES[6], "The car park closes at ten in the evening."])
    query = embedder.encode([question])[0]
    picked = pick_sentences(question, query, [first, second], WEIGHTS)
    assert picked == [(2, SENTENCES[6]), (1, SENTENCES[0])]


SERVER_GUIDE = """# Running the report server

The report server needs Python 3.11 or newer and a free port.

## Starting it

To start the report server on port 8600, run these two commands in the project folder:

```bash
pip install -r requirements.txt

report-server --port 8600 --workers 2
```

It prints `[1] listening` once it accepts connections.

## Stopping it

Stopping the report server takes one of these three ways:

- press Ctrl+C in its terminal;
- send it SIGTERM from another terminal;
- call the /shutdown endpoint with the admin token.

Logs are kept in the logs folder for a week.
"""


@pytest.fixture
def guide(local: Docent) -> Docent:
    """An embedded Docent holding a Markdown guide with a code block and a list."""
    assert ingest(local, ("guide.md", SERVER_GUIDE.encode())) == ["indexed"]
    return local


def _offline(app: Docent, question: str) -> tuple[AnswerResult, str]:
    stream = app.ask(question, k=3)
    text = "".join(stream)
    assert stream.result.mode == "extractive"
    return stream.result, text


def test_code_is_quoted_whole_as_code(guide: Docent) -> None:
    result, text = _offline(guide, "Which commands start the report server on port 8600?")
    # the block, blank line and all, as a fenced block of its own with its citation after it
    block = "```bash\npip install -r requirements.txt\n\nreport-server --port 8600 --workers 2\n```"
    assert block in text
    assert f"{block}\n\n[1]" in text and result.citations[0].passage.source == "guide.md"
    assert "> ```" not in text  # not flattened into a quote


GARDEN = """# Watering

Most vegetables need watering twice a week in summer, in the morning.

| Plant | Water per week | Sun |
|---|---|---|
| Tomato | 2.5 litres | Full sun |
| Lettuce | 1 litre | Half shade |
| Pepper | 2 litres | Full sun |

Water at the foot of the plant, never on the leaves.
"""


def test_a_table_is_quoted_with_its_rows(local: Docent) -> None:
    assert ingest(local, ("garden.md", GARDEN.encode())) == ["indexed"]
    _, text = _offline(local, "How much water does a tomato need per week?")
    rows = "| Plant | Water per week | Sun |\n|---|---|---|\n| Tomato | 2.5 litres | Full sun |"
    assert f"```\n{rows}\n" in text  # one row a line, as written, not run together


def test_prose_that_mentions_a_bar_is_not_a_table() -> None:
    assert is_table("| a | b |\n|---|---|")
    assert is_table("Model | Price\nHauler | 3,200 EUR\nMini | 1,900 EUR")
    assert not is_table("Use x | y for an element-wise or, while\nx || y looks at one value.")
    assert not is_table("Model | Price\nHauler | 3,200 EUR")  # two bare rows: too little to say
    assert is_table("| a | b |\n|---|---|\n| 1 | 2 |\n…")  # a long one, cut after a row


def test_a_list_is_quoted_whole_after_its_lead_in(guide: Docent) -> None:
    _, text = _offline(guide, "What are the ways of stopping the report server?")
    for item in ("press Ctrl+C", "send it SIGTERM", "call the /shutdown endpoint"):
        assert item in text


def test_code_spans_and_clean_keep_code_lines() -> None:
    text = "Run this:\n\n```r\nx <- c(1, 2)\n\nmean(x)\n[1] 1.5\n```\n\nThat is all there is."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans[-2].startswith("```r") and spans[-2].endswith("```")
    assert clean(spans[-2]) == "```r\nx <- c(1, 2)\n\nmean(x)\n[1] 1.5\n```"
    assert clean("A PDF line\nbreak and hyph-\nenation.") == "A PDF line break and hyphenation."


# A hard-wrapped text (as PDF pages and many .txt files are): the chunker breaks at line ends,
# so the sentence about the key is cut between the first chunk and the second.
ROTAS = [
    f"Note {i}: the {name} rota is posted on the board by the lifts every week."
    for i, name in enumerate(
        ["cleaning", "kitchen", "parking", "security", "garden", "laundry", "printing", "reception"]
    )
]
KEY = (
    "The spare key to the boiler room is kept in the small blue tin on the top shelf behind "
    "the reception desk, next to the first-aid kit and the torch."
)
FACILITIES = textwrap.fill(" ".join([*ROTAS, KEY, *ROTAS[:3]]), 72)


def test_a_sentence_cut_by_a_chunk_boundary_is_quoted_whole(local: Docent) -> None:
    assert ingest(local, ("facilities.txt", FACILITIES.encode())) == ["indexed"]
    chunks = [" ".join(c.text.split()) for c in local.collection().rows.chunks()]
    assert len(chunks) > 1 and not any(KEY in c for c in chunks)  # no chunk holds it whole
    result, text = _offline(local, "Where is the spare key to the boiler room kept?")
    assert f"> {KEY} [1]" in text
    assert result.citations[0].passage.source == "facilities.txt"


def whole_sentence(
    chunk: ChunkRecord, start: int, end: int, neighbours: dict[str, ChunkRecord]
) -> str:
    """The raw text of the sentence, completed where it was cut (:func:`whole_span`)."""
    text, s, e = whole_span(chunk, start, end, neighbours)
    return text[s:e]


def _record(text: str, index: int, start: int, page: int | None = None) -> ChunkRecord:
    spans = tuple(sentence_spans(text))
    meta = ChunkMeta("f.pdf", "d" * 64, index, page, (), start, start + len(text), "pdf", spans)
    return ChunkRecord(chunk_id(meta.doc_id, index), text, meta, np.zeros(2, np.float32))


def test_a_preformatted_block_cut_by_a_chunk_boundary_stays_code_when_completed() -> None:
    # An HTML <pre> split between two overlapping chunks: the completed sentence's code
    # lines come from both, and each chunk knows only its own part of the <pre>.
    document = "Use it so:\nSELECT name\n  FROM people\n  WHERE age > 30\nIt lists them."
    pre = (document.index("SELECT"), document.index("\nIt lists"))
    cut = document.index("  FROM") + 6  # the first chunk ends inside the block
    records = []
    for index, (start, end) in enumerate([(0, cut), (document.index("  FROM"), len(document))]):
        code = ((max(pre[0] - start, 0), min(pre[1], end) - start),)
        meta = ChunkMeta("f.html", "d" * 64, index, None, (), start, end, "html", (), code)
        text = document[start:end]
        records.append(ChunkRecord(chunk_id(meta.doc_id, index), text, meta, np.zeros(2)))
    first, second = records
    window = document  # the first chunk's text run on with the second's
    spans = window_code(first, window, {second.chunk_id: second})
    shown = {window[s:e] for s, e in spans}
    assert shown == {"SELECT name\n  FROM", "  FROM people\n  WHERE age > 30"}
    # where the window starts before the chunk (completed from the one before it)
    assert window_code(second, window, {first.chunk_id: first}) == spans


def test_a_fragment_is_completed_only_from_an_overlapping_chunk_of_its_page() -> None:
    document = "It starts here. The tin holds the key\nto the boiler room. It ends here."
    first = _record(document[:37], 0, 0, page=3)  # "... The tin holds the key"
    second = _record(document[26:], 1, 26, page=3)  # "the key\nto the boiler room. ..."
    end = first.meta.sentence_spans[-1]
    whole = "The tin holds the key\nto the boiler room."
    assert whole_sentence(first, *end, {second.chunk_id: second}) == whole
    start = second.meta.sentence_spans[0]
    assert whole_sentence(second, *start, {first.chunk_id: first}) == whole
    # the next page may go on with anything (a footnote, a heading): left as it is
    other_page = _record(document[26:], 1, 26, page=4)
    assert whole_sentence(first, *end, {other_page.chunk_id: other_page}) == document[16:37]
    # a neighbour that is not loaded, or a gap between the chunks: left as it is
    assert whole_sentence(first, *end, {}) == document[16:37]
    gap = _record(document[40:], 1, 40, page=3)
    assert whole_sentence(first, *end, {gap.chunk_id: gap}) == document[16:37]


def test_a_sentence_cut_by_a_page_break_is_marked_as_cut(local: Docent) -> None:
    # The quote cited to page 1 cannot borrow page 2's words: it says where words are missing.
    half = KEY.index(" on the top shelf")
    pages = [" ".join([*ROTAS, KEY[:half]]), " ".join([KEY[half + 1 :], *ROTAS[:4]])]
    assert ingest(local, ("facilities.pdf", _pdf(pages))) == ["indexed"]
    _, text = _offline(local, "Where is the spare key to the boiler room kept?")
    assert f"> {KEY[:half]}… [" in text


def test_only_a_sentence_that_runs_on_to_another_page_is_marked() -> None:
    document = "It starts here. The tin holds the key\n\nto the boiler room. It ends here."
    first = _record(document[:37], 0, 0, page=3)  # "... The tin holds the key"
    end = first.meta.sentence_spans[-1]
    next_page = _record(document[39:], 1, 39, page=4)  # "to the boiler room. ..."
    assert across_pages(first, *end, {next_page.chunk_id: next_page}) == (False, True)
    start = next_page.meta.sentence_spans[0]
    assert across_pages(next_page, *start, {first.chunk_id: first}) == (True, False)
    assert marked("The tin holds the key", False, True) == "The tin holds the key…"
    assert marked("to the boiler room.", True, False) == "…to the boiler room."
    # the next page starts a sentence, or the next block of a page-less file: nothing missing
    heading = _record("Boiler room. It ends here.", 1, 39, page=4)
    assert across_pages(first, *end, {heading.chunk_id: heading}) == (False, False)
    first_html = _record(document[:37], 0, 0)
    next_block = _record(document[39:], 1, 39)
    assert across_pages(first_html, *end, {next_block.chunk_id: next_block}) == (False, False)
    assert marked("The key is kept here.", True, True) == "The key is kept here."


def _pdf(pages: list[str]) -> bytes:
    """A PDF of body text only, one string a page (no headings to end a sentence early)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for body in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, body)
    return bytes(pdf.output())


HANDBOOK = """# 员工手册

## 休假

每位员工每年有十五天带薪年假。年假必须在当年使用，否则作废。病假需要提供医生证明。

## 工作时间

正常工作时间为周一至周五，上午九点到下午六点。午休时间为一小时。

## 报销

差旅费用须在出差结束后三十天内提交报销申请，并附上所有发票。
"""


def test_chinese_is_searched_by_character_pairs_and_quoted_by_sentence(local: Docent) -> None:
    # Chinese has no spaces: a whole clause was one BM25 "word" that no question matched, and
    # 。 did not end a sentence, so a question about lunch breaks was refused (0.03).
    assert tokenize(["带薪年假。"]) == [["带薪", "薪年", "年假"]]
    text = HANDBOOK.splitlines()[4]
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "每位员工每年有十五天带薪年假。",
        "年假必须在当年使用，否则作废。",
        "病假需要提供医生证明。",
    ]
    assert ingest(local, ("手册.md", HANDBOOK.encode())) == ["indexed"]
    stream = local.ask("午休时间多长？")
    answer = "".join(stream)
    assert stream.result.mode == "extractive" and "> 午休时间为一小时。 [1]" in answer
    stream = local.ask("公司的股票代码是什么？")  # the company's ticker symbol: not in it
    "".join(stream)
    assert stream.result.mode == "not-found"


CLIENTS = """# Calling the report API

The report API answers on port 8600 and needs the admin token in every request.

Python:

```python
reports = client.get("/reports", token=TOKEN)
```

Bash:

```bash
curl -H "Authorization: Bearer $TOKEN" localhost:8600/reports
```

Reports are kept for a week.
"""


def test_a_code_block_keeps_its_label_line(local: Docent) -> None:
    # "Bash:" is too short to be a sentence; without it the reader cannot tell the blocks apart
    assert ingest(local, ("clients.md", CLIENTS.encode())) == ["indexed"]
    _, text = _offline(local, "How do I list the reports with curl from bash?")
    assert '> Bash:\n\n```bash\ncurl -H "Authorization: Bearer $TOKEN"' in text
    if "```python" in text:
        assert "> Python:\n\n```python" in text


def test_every_quoted_lead_in_is_quoted_with_what_it_introduces() -> None:
    # From PostgreSQL's tutorial (as the HTML loader gives it): a second source's lead-in was
    # quoted alone, "...by typing the command:", without the command it introduces.
    first = "Databases are created with the createdb program that ships with the server."
    second = (
        "It can be activated for the mydb database by typing the command:\n"
        "```\n$ psql mydb\n```\n"
        "If you do not supply the database name then it will default to your user name."
    )
    axis = np.eye(4, dtype=np.float32)
    sources = []
    for n, (text, vectors) in enumerate(
        ((first, [axis[0]]), (second, [0.9 * axis[0] + 0.3 * axis[1], axis[2], axis[3]]))
    ):
        spans = tuple(sentence_spans(text))
        assert len(spans) == len(vectors)
        meta = ChunkMeta(f"{n}.md", str(n), 0, sentence_spans=spans)
        record = ChunkRecord(f"{n}:0", text, meta, axis[0], np.array(vectors, np.float16))
        sources.append(Passage(record))
    picked = pick_sentences("How is a database created?", axis[0], sources)
    assert picked == [
        (1, first),
        (2, "It can be activated for the mydb database by typing the command:"),
        (2, "```\n$ psql mydb\n```"),
    ]


def _page_passage(
    embedder: Embedder, text: str, kind: str, code: tuple[tuple[int, int], ...] = ()
) -> Passage:
    """A passage of real text as ingest stores it: sentence spans and vectors, its kind and
    where it holds code."""
    spans = sentence_spans(text)
    meta = ChunkMeta("doc", "d1", 0, kind=kind, sentence_spans=tuple(spans), code_spans=code)
    vectors = embedder.encode([text[s:e] for s, e in spans])
    return Passage(ChunkRecord("d1:0", text, meta, embedder.encode([text])[0], vectors))


def test_lines_of_code_in_a_pdf_are_quoted_as_lines(embedder: Embedder) -> None:
    # R-intro's example of nls(): a sentence of wrapped prose that runs into R's prompt lines
    # and output. Joined into one line, it read "so we can use > df <- data.frame(...) > fit".
    from markdown_it import MarkdownIt

    from tests.conftest import PDFS

    data = (PDFS / "R-intro.pdf").read_bytes()
    doc = load_bytes("R-intro.pdf", data, max_bytes=len(data))
    page = next(b.text for b in doc.blocks if "SSmicmen(x, Vm, K), df)" in b.text)
    start = page.index("The standard package stats")
    text = page[start : page.index("residual sum-of-squares") + 40]
    question = "How do I fit the Michaelis-Menten model with nls?"
    answer = extractive_answer(
        question, embedder.encode([question])[0], [_page_passage(embedder, text, "pdf")]
    )
    # wrapped prose is one line again; each line of code is a line, its prompt not a quote
    assert (
        "> The model we have just fitted is the Michaelis-Menten model, so we can use  \n" in answer
    )
    assert (
        "\\> df <- data.frame(x=x, y=y)  \n> \\> fit <- nls(y \\~ SSmicmen(x, Vm, K), df)  \n"
        in answer
    )
    html = MarkdownIt("commonmark").render(safe_markdown(answer))
    assert "<blockquote>\n<blockquote>" not in html  # "> df" at a line's start: no nested quote
    assert "&gt; fit<br />" in html and "Nonlinear regression model<br />" in html
    # The loader knows those lines are set in a typewriter face (PDFium names the font): with
    # the chunk's code spans they are a code block inside the quote, shown as written.
    block = next(b for b in doc.blocks if "SSmicmen(x, Vm, K), df)" in b.text)
    code = tuple((max(s - start, 0), e - start) for s, e in block.code if e > start)
    passage = _page_passage(embedder, text, "pdf", code)
    answer = extractive_answer(question, embedder.encode([question])[0], [passage])
    assert "Michaelis-Menten model, so we can use  \n> ```\n> > df <- data.frame(x=x, y=y)\n" in (
        answer
    )
    html = MarkdownIt("commonmark").render(safe_markdown(answer))
    output = "Nonlinear regression model\nmodel: y ~ SSmicmen(x, Vm, K)\ndata: df\n"
    assert "<pre><code>&gt; df &lt;- data.frame(x=x, y=y)\n&gt; fit &lt;- nls(" in html
    assert output in html and "<blockquote>\n<blockquote>" not in html


INDEX_PAGE = """<html><head><title>CREATE INDEX</title></head><body>
<h1>CREATE INDEX</h1>
<p>The CREATE INDEX command of the archive database has the general form</p>
<pre>CREATE [ UNIQUE ] INDEX name
    ON table_name ( column [, ...] )
    [ WHERE predicate ]</pre>
<p>where the predicate limits the index to the rows it holds true for.</p>
<h2>Parameters</h2>
<dl><dt>UNIQUE</dt><dd>Makes the archive database check for duplicate values in the table.</dd>
<dt>1. name</dt><dd>The name of the index to be created, without a schema.</dd></dl>
</body></html>"""


def test_lines_of_an_html_page_are_quoted_as_lines(local: Docent) -> None:
    # An HTML page's lines are its blocks: a line of a <pre> synopsis, a term of a definition
    # list. Quoted on one line, the synopsis read "form CREATE [ UNIQUE ] INDEX name ON ...".
    # The <pre> lines are code, shown as written in a code block inside the quote.
    from markdown_it import MarkdownIt

    assert ingest(local, ("create_index.html", INDEX_PAGE.encode())) == ["indexed"]
    _, text = _offline(local, "What is the general form of the CREATE INDEX command?")
    synopsis = (
        "general form  \n> ```\n> CREATE [ UNIQUE ] INDEX name\n"
        ">     ON table_name ( column [, ...] )\n>     [ WHERE predicate ]\n> ```\n"
        "> where the predicate limits"
    )
    assert synopsis in text
    html = MarkdownIt("commonmark").render(safe_markdown(text))
    code = "CREATE [ UNIQUE ] INDEX name\n    ON table_name ( column [, ...] )\n"
    assert f"general form</p>\n<pre><code>{code}" in html
    _, text = _offline(local, "What is the name parameter of CREATE INDEX?")
    assert "1\\. name  \n" in text  # a term that reads like a numbered item is no list


R_PAGE = """<html><body><h1>Vectors</h1>
<p>To make a vector of the first three squares, assign it and print it:</p>
<pre>&gt; squares &lt;- c(1, 4, 9)
&gt; squares[2]
[1] 4</pre>
</body></html>"""


def test_preformatted_lines_of_an_html_page_are_code_in_the_quote(local: Docent) -> None:
    # R's prompt, "<-" and its output "[1] 4" inside a <pre>: shown as written, in a code
    # block (no "\>", no "&lt;", no escaped bracket), and "[1]" there is output, not a
    # citation; the quote's own citation follows the block.
    from markdown_it import MarkdownIt

    assert ingest(local, ("vectors.html", R_PAGE.encode())) == ["indexed"]
    result, text = _offline(local, "How do I make a vector of the first three squares?")
    block = "> ```\n> > squares <- c(1, 4, 9)\n> > squares[2]\n> [1] 4\n> ```\n> [1]"
    assert block in text, text
    assert [c.number for c in result.citations] == [1]
    html = MarkdownIt("commonmark").render(safe_markdown(text))
    assert "<pre><code>&gt; squares &lt;- c(1, 4, 9)\n&gt; squares[2]\n[1] 4\n</code></pre>" in html
    assert "<blockquote>" in html and html.count("<blockquote>") == 1  # no nested quote


FILE_PAGE = """<html><body><h1>Reading files</h1>
<p>Calling f.read() returns the contents of the file as one string.</p>
<pre>'This is the entire file.\\n'</pre>
<p>For reading lines from a file, you can loop over the file object.</p>
</body></html>"""


def test_the_last_line_of_an_example_is_not_quoted_with_the_next_sentence(
    local: Docent,
) -> None:
    # No full stop ends a <pre>, so its last line and the prose after it are one sentence
    # to the segmenter (on Python's tutorial, a chunk began with a session's last output
    # line, "''"): the quote began with that line, a code block of its own, not the answer.
    assert ingest(local, ("files.html", FILE_PAGE.encode())) == ["indexed"]
    _, text = _offline(local, "How do I loop over the lines of a file?")
    assert "\n> For reading lines from a file, you can loop over the file object. [1]" in text
    assert "entire file" not in text


def test_a_table_of_contents_line_is_not_quoted_over_the_text(embedder: Embedder) -> None:
    # R-intro's contents page names "Least squares fitting and the QR decomposition", so its
    # line ranks with the section itself; quoted, it answered with ". . . . . 26".
    from tests.conftest import PDFS

    data = (PDFS / "R-intro.pdf").read_bytes()
    blocks = load_bytes("R-intro.pdf", data, max_bytes=len(data)).blocks
    contents = next(b.text for b in blocks if "decomposition . . ." in b.text)
    section = next(b.text for b in blocks if b.text.startswith("5.7.5 Least squares fitting"))
    sources = [_page_passage(embedder, t[:1200], "pdf") for t in (contents, section)]
    question = "How is least squares fitting done with the QR decomposition?"
    vector = embedder.encode([question])[0]
    answer = extractive_answer(question, vector, sources)
    assert ". . ." not in answer and "[2]" in answer
    # with nothing else to quote, the contents are still quoted rather than nothing
    assert ". . ." in extractive_answer(question, vector, sources[:1])


TOOLS_MD = """# The archive tool

The archive tool packs a project folder into one compressed file for the backup server.
To pack a project and check the archive it made, run these two commands:

    archive pack --level 9 project/
        --exclude build/
    archive check project.tar.zst

Packing a large project takes a few minutes on a laptop.
"""

LINTER_RST = """The style checker
=================

The style checker reads every source file of the project and reports each line that
breaks the house rules for names, spacing and the length of lines. To check the whole
tree and write the report to a file, type::

    stylecheck --all src/
        --report report.txt

It stops at the first file it cannot read and names it.
"""


@pytest.mark.parametrize(
    ("name", "text", "question", "code"),
    [
        (
            "tools.md",
            TOOLS_MD,
            "Which commands pack a project and check the archive?",
            "> ```\n> archive pack --level 9 project/\n>     --exclude build/\n"
            "> archive check project.tar.zst\n> ```",
        ),
        (
            "style.rst",
            LINTER_RST,
            "How do I check the whole tree and write the report to a file?",
            "> ```\n> stylecheck --all src/\n>     --report report.txt\n> ```",
        ),
    ],
)
def test_an_indented_code_block_is_quoted_line_by_line(
    local: Docent, name: str, text: str, question: str, code: str
) -> None:
    # A Markdown indented code block and a reStructuredText literal block: their lines and
    # indentation, not "archive pack --level 9 project/ --exclude build/ archive check ...".
    # The loader knows they are code: a code block inside the quote.
    assert ingest(local, (name, text.encode())) == ["indexed"]
    _, answer = _offline(local, question)
    assert code in answer


def test_a_quoted_line_never_starts_markdown_block_syntax(embedder: Embedder) -> None:
    # Each line of an HTML page is quoted as a line; one that starts like a heading, a list,
    # a nested quote, a rule or a table's delimiter row must still read as text.
    from markdown_it import MarkdownIt

    lines = [
        "The nightly report of the backup job is printed as follows",
        "# Backup report",
        "+ added: 1 file",
        "= all copies done",
        "1) first copy at 02:00",
        "Name | Size",
        ":--- | ---:",
        "***",
        "> end of the backup report",
    ]
    passage = _page_passage(embedder, "\n".join(lines), "html")
    question = "What does the nightly backup report print?"
    answer = extractive_answer(question, embedder.encode([question])[0], [passage])
    html = MarkdownIt("commonmark").enable("table").render(safe_markdown(answer))
    for tag in ("<h1>", "<ul>", "<ol>", "<table>", "<hr", "<pre>", "<blockquote>\n<blockquote>"):
        assert tag not in html, (tag, html)
    assert "<br />\n# Backup report<br />\n+ added: 1 file<br />" in html
