"""The real thing: `streamlit run app.py` on loopback, driven by Playwright in Debian's Chromium.

Uploads a real PDF, asks a question whose answer is on a known page, and checks that the
answer cites that file and page. A screenshot is saved under tests/artifacts/ either way.
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PDFS, REPO
from tests.servers import free_port, serve

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


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed; "
    "`sudo apt-get install chromium` (make test installs it when it can)",
)
def test_upload_pdf_ask_and_see_page_citation(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(app_url)
            expect(page.get_by_text("Welcome to Docent")).to_be_visible(timeout=120_000)
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
