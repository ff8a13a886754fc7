"""The real thing: `streamlit run app.py` on loopback, driven by Playwright in Debian's Chromium.

Uploads a real PDF, asks a question whose answer is on a known page, and checks that the
answer cites that file and page. A screenshot is saved under tests/artifacts/ either way.
Two browser contexts (two sessions) then ask different questions at the same time.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import PDFS, REPO
from tests.helpers import FACTS, make_pdf
from tests.servers import free_port, serve

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, stopped afterwards."""
    port = free_port()
    env = {**os.environ, "DOCENT_DATA_DIR": str(tmp_path / "data")}
    for var in ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY"):
        env.pop(var, None)
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.maxUploadSize",
        "20",
    ]
    with serve(
        cmd, port, tmp_path / "streamlit.log", ready=lambda: _healthy(url), cwd=REPO, env=env
    ):
        yield url


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(autouse=True)
def chromium() -> None:
    """These tests fail (never skip) without Chromium: `make test` installs it."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `sudo apt-get install chromium` (or `make test`)")


def _ready(page: Page) -> None:
    """Wait until the app has loaded its model and drawn the library (the upload input)."""
    page.locator("input[type=file]").wait_for(state="attached", timeout=240_000)


def test_upload_pdf_ask_and_see_page_citation(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(app_url)
            _ready(page)
            expect(page.get_by_text("Welcome to Docent")).to_be_visible()
            page.locator("input[type=file]").set_input_files(str(PDFS / "R-admin.pdf"))
            page.get_by_role("button", name="Index").click()
            expect(page.get_by_text("indexed", exact=True)).to_be_visible(timeout=300_000)
            box = page.get_by_placeholder("Ask a question about your documents")
            expect(box).to_be_enabled(timeout=60_000)
            box.fill("Which environment variable sets the directory R uses for temporary files?")
            box.press("Enter")
            answer = page.get_by_test_id("stChatMessage").last
            expect(answer.get_by_text("mode extractive")).to_be_visible(timeout=120_000)
            expect(answer.get_by_text("TMPDIR").first).to_be_visible()
            cited = answer.get_by_text("📌 [1] R-admin.pdf, p. 28")
            expect(cited).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-answer.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


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
                _ready(page)
            pages[0].locator("input[type=file]").set_input_files(str(facts))
            pages[0].get_by_role("button", name="Index").click()
            expect(pages[0].get_by_text("indexed", exact=True)).to_be_visible(timeout=300_000)
            # The other session sees the new document once it reruns (any interaction).
            pages[1].reload()
            _ready(pages[1])
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
