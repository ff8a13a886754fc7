"""The real thing: `streamlit run app.py` on loopback, driven by Playwright in Debian's Chromium.

Uploads a real PDF, asks a question whose answer is on a known page, and checks that the
answer cites that file and page. A screenshot is saved under tests/artifacts/ either way.
Two browser contexts (two sessions) then ask different questions at the same time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import (
    CHROMIUM,
    FLAGS,
    chromium_page,
    ready,
    require_chromium,
    screenshot,
    streamlit_app,
)
from tests.conftest import PDFS
from tests.helpers import BEES_QA, CUP_FINAL_QA, FACTS, GLACIER_QA, make_pdf, write_qa

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port (no accounts), stopped afterwards."""
    require_chromium()
    with streamlit_app(tmp_path / "data", tmp_path / "streamlit.log") as url:
        yield url


def test_upload_pdf_ask_and_see_page_citation(app_url: str) -> None:
    from playwright.sync_api import expect

    with chromium_page("browser-failure") as page:
        page.goto(app_url)
        ready(page)
        expect(page.get_by_text("Welcome to Docent")).to_be_visible()
        _index(page, PDFS / "R-admin.pdf")
        box = page.get_by_placeholder("Ask a question about your documents")
        expect(box).to_be_enabled(timeout=60_000)
        page.get_by_text("⚙️ Settings").click()  # opened before the first question ...
        knob = page.get_by_text("Passages per answer (top-k)")
        expect(knob).to_be_visible()
        box.fill("Which environment variable sets the directory R uses for temporary files?")
        box.press("Enter")
        answer = page.get_by_test_id("stChatMessage").last
        expect(answer.get_by_text("mode extractive")).to_be_visible(timeout=120_000)
        expect(answer.get_by_text("TMPDIR").first).to_be_visible()
        cited = answer.get_by_text("📌 [1] R-admin.pdf, p. 28")
        expect(cited).to_be_visible()
        # The quote's [1] names its source when pointed at, and leads to the sources in the
        # same tab (a link of the answer's own, not one from the document)
        marker = answer.locator('a[title^="R-admin.pdf, p. 28"]').first
        expect(marker).to_have_text("[1]")
        assert marker.get_attribute("target") is None
        marker.click()
        page.wait_for_url(re.compile(r"#docent-sources-\d+$"))
        anchor = page.url.rsplit("#", 1)[1]
        expect(answer.locator(f"#{anchor}")).to_have_count(1)
        sidebar = page.get_by_test_id("stSidebar")  # the new chat is listed at once
        expect(sidebar.get_by_text("Which environment variable sets")).to_be_visible()
        expect(knob).to_be_visible()  # ... and still open now the chat list has grown
        page.wait_for_url(re.compile(r"[?&]chat="))  # a reload would bring this chat back
        first = _chat_in(page.url)
        screenshot(page, "browser-answer")
        # The address follows the chat on screen: a bookmark taken now must not open the
        # previous chat (a URL update sent just before a rerun was dropped, 3 times in 4).
        sidebar.get_by_role("button", name="➕ New chat").click()
        page.wait_for_url(lambda url: _chat_in(url) is None, timeout=30_000)
        box.fill("Which environment variable sets the directory R uses for temporary files?")
        box.press("Enter")
        expect(
            page.get_by_test_id("stChatMessage").last.get_by_text("mode extractive")
        ).to_be_visible(timeout=120_000)
        page.wait_for_url(lambda url: _chat_in(url) not in (None, first), timeout=30_000)


def _chat_in(url: str) -> str | None:
    """The chat a page address names (``?chat=ID``), if any."""
    found = re.search(r"[?&]chat=([^&#]+)", url)
    return found.group(1) if found else None


def test_changed_settings_come_back_after_a_reload(app_url: str) -> None:
    from playwright.sync_api import expect

    with chromium_page("browser-settings-failure") as page:
        page.goto(app_url)
        ready(page)
        settings = page.get_by_text("⚙️ Settings")
        expect(settings).to_be_visible(timeout=240_000)
        hybrid = page.get_by_role("switch", name="Hybrid search (BM25 + dense)")
        settings.click()
        expect(hybrid).to_be_checked()
        assert "hybrid=" not in page.url  # the server's default: a clean address
        page.get_by_text("Hybrid search (BM25 + dense)").click()
        page.wait_for_url(re.compile(r"[?&]hybrid=off"), timeout=30_000)
        page.reload()
        ready(page)
        expect(settings).to_be_visible(timeout=240_000)
        settings.click()
        expect(hybrid).not_to_be_checked()
        assert "hybrid=off" in page.url


def _chat_box(page: Page) -> Locator:
    from playwright.sync_api import expect

    box = page.get_by_placeholder("Ask a question about your documents")
    expect(box).to_be_enabled(timeout=120_000)
    return box


def test_two_browser_sessions_ask_at_once(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    facts = tmp_path / "facts.pdf"
    facts.write_bytes(make_pdf(FACTS))
    questions = {
        "How do honey bees tell direction?": "waggle",
        "What is the largest glacier in the Alps?": "Aletsch",
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            pages = [browser.new_context().new_page() for _ in questions]
            for page in pages:
                page.goto(app_url)
                ready(page)
            _index(pages[0], facts)
            # The other session sees the new document once it reruns (any interaction).
            pages[1].reload()
            ready(pages[1])
            boxes = [_chat_box(page) for page in pages]
            # Both questions are sent before either answer is awaited: the server runs
            # the two sessions' scripts concurrently on its threads.
            for box, question in zip(boxes, questions, strict=True):
                box.fill(question)
                box.press("Enter")
            for page, (question, want) in zip(pages, questions.items(), strict=True):
                chat = page.get_by_test_id("stChatMessage")
                expect(chat.last.get_by_text("mode extractive")).to_be_visible(timeout=120_000)
                expect(chat.last.get_by_text(want).first).to_be_visible()
                # Each session keeps its own history: its one question and answer, no crosstalk.
                expect(chat).to_have_count(2)
                expect(chat.first).to_contain_text(question)
        finally:
            browser.close()


def test_indexing_goes_on_after_a_reload(app_url: str, tmp_path: Path) -> None:
    # H10: reloading during indexing silently abandoned the ingest (nothing stored, no word).
    # Then: the new session showed the progress but never said which file had failed.
    from playwright.sync_api import expect

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a PDF at all, just text with a .pdf name")
    with chromium_page("browser-reload-failure", wide=False) as page:
        page.goto(app_url)
        ready(page)
        page.locator("input[type=file]").set_input_files([str(PDFS / "R-intro.pdf"), str(broken)])
        page.get_by_role("button", name="Index").click()
        expect(page.get_by_text("Indexing 2 file(s)")).to_be_visible(timeout=60_000)
        page.reload()  # the old session is gone; the job is not
        ready(page)
        expect(page.get_by_text("Indexing 2 file(s)")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("1 document", exact=True)).to_be_visible(timeout=300_000)
        expect(page.get_by_text("R-intro.pdf").first).to_be_visible()
        expect(page.get_by_text("broken.pdf").first).to_be_visible()  # how it ended, too
        expect(page.get_by_text("failed", exact=True)).to_be_visible()
        box = page.get_by_placeholder("Ask a question about your documents")
        expect(box).to_be_enabled(timeout=60_000)


def test_evaluate_the_collection_on_a_question_file(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    facts = tmp_path / "facts.pdf"
    facts.write_bytes(make_pdf(FACTS))
    qa = write_qa(tmp_path / "qa.jsonl", [BEES_QA, GLACIER_QA, CUP_FINAL_QA])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n')
    with chromium_page("browser-failure") as page:
        page.goto(app_url)
        ready(page)
        _index(page, facts)
        page.get_by_role("button", name="Evaluate this collection").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("button", name="Example QA file")).to_be_visible()
        _upload(page, dialog, qa)
        dialog.get_by_role("button", name="Run").click()
        table = dialog.locator("table").first

        def row(metric: str) -> Locator:  # the row whose first cell is exactly ``metric``
            return table.locator("tr").filter(has=page.get_by_role("cell", name=metric, exact=True))

        expect(row("questions (answerable / not)")).to_contain_text("3 (2 / 1)", timeout=120_000)
        for metric in ("hit@1", "refused, unanswerable", "answer span in answer"):
            expect(row(metric)).to_contain_text("1.000")
        screenshot(page, "browser-evaluate")
        with page.expect_download() as download:
            dialog.get_by_role("button", name="Download the report (JSON)").click()
        saved = json.loads(Path(download.value.path()).read_text())
        assert saved["hit_1"] == 1.0 and len(saved["details"]) == 3
        # A second file makes two QA files: refused, named, and the old figures go.
        _upload(page, dialog, bad)
        dialog.get_by_role("button", name="Run").click()
        expect(
            dialog.get_by_text(re.compile(r"got (qa|bad)\.jsonl, (qa|bad)\.jsonl"))
        ).to_be_visible()
        expect(dialog.locator("table")).to_have_count(0)


def test_evaluate_on_beir_queries_with_trec_qrels(app_url: str, tmp_path: Path) -> None:
    # A BEIR set's queries with TREC qrels of any name (a ".qrels" file, no header line): the
    # uploader takes any file type, and the first line is a judgment, not a header to skip.
    from playwright.sync_api import expect

    docs = []
    for title, text in FACTS:
        docs.append(tmp_path / f"{title.lower()}.txt")
        docs[-1].write_text(f"{title}\n\n{text}\n")
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        '{"_id": "q1", "text": "How do honey bees tell direction?"}\n'
        '{"_id": "q2", "text": "Which glacier is the largest in the Alps?"}\n'
    )
    qrels = tmp_path / "judgments.qrels"
    qrels.write_text("q1 0 bees 1\nq2 0 glaciers 1\n")
    with chromium_page("browser-evaluate-beir") as page:
        page.goto(app_url)
        ready(page)
        page.locator("input[type=file]").set_input_files([str(d) for d in docs])
        page.get_by_role("button", name="Index").click()
        expect(page.get_by_text("indexed", exact=True)).to_have_count(len(docs), timeout=300_000)
        page.get_by_role("button", name="Evaluate this collection").click()
        dialog = page.get_by_role("dialog")
        _upload(page, dialog, queries)
        _upload(page, dialog, qrels)
        dialog.get_by_role("button", name="Run").click()
        table = dialog.locator("table").first
        questions = table.locator("tr").filter(has_text="questions (answerable / not)")
        expect(questions).to_contain_text("2 (2 / 0)", timeout=120_000)
        ndcg = table.locator("tr").filter(has=page.get_by_role("cell", name="nDCG@10", exact=True))
        expect(ndcg).to_contain_text("1.000")


def _index(page: Page, path: Path) -> None:
    """Upload a file in the sidebar, press *Index* and wait until it is indexed."""
    from playwright.sync_api import expect

    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Index").click()
    expect(page.get_by_text("indexed", exact=True)).to_be_visible(timeout=300_000)


def _upload(page: Page, where: Locator, path: Path) -> None:
    """Choose a file and wait until the server has it: the uploader lists a file before its
    upload is done, and a click in between would run without it."""
    from playwright.sync_api import expect

    with page.expect_response(lambda r: "/_stcore/upload_file" in r.url and r.ok):
        where.locator("input[type=file]").set_input_files(str(path))
    chip = where.get_by_test_id("stFileChip").filter(has_text=path.name)
    expect(chip).to_be_visible()
    expect(chip.get_by_test_id("stFileChipIconSpinner")).to_have_count(0)  # uploaded
