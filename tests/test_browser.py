"""The real thing: `streamlit run app.py` on loopback, driven by Playwright in Debian's Chromium.

Uploads a real PDF, asks a question whose answer is on a known page, and checks that the
answer cites that file and page. A screenshot is saved under tests/artifacts/ either way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PDFS, REPO, free_port

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
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [
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
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not become healthy")


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
            box.fill("Which environment variable says where R should put temporary files?")
            box.press("Enter")
            answer = page.get_by_test_id("stChatMessage").last
            expect(answer.get_by_text("mode extractive")).to_be_visible(timeout=120_000)
            expect(answer.get_by_text("TMPDIR").first).to_be_visible()
            cited = answer.get_by_text("📌 [1] R-admin.pdf, p. 5")
            expect(cited).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-answer.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
