"""Browser-test plumbing: `streamlit run app.py` on loopback, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO
from tests.servers import free_port, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

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
WIDE: ViewportSize = {"width": 1400, "height": 1000}  # room for the sidebar and the chat
NO_LLM = ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY")


def require_chromium() -> None:
    """Browser tests fail (never skip) without Chromium: `make test` installs it."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `sudo apt-get install chromium` (or `make test`)")


@contextmanager
def streamlit_app(data_dir: Path, log: Path, **env: str) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port with ``data_dir``; its URL. Stopped on
    exit, whatever happened."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in NO_LLM}
    environ |= {"DOCENT_DATA_DIR": str(data_dir), **env}
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
    with serve(cmd, port, log, ready=lambda: _healthy(url), cwd=REPO, env=environ):
        yield url


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (Debian's), closed on exit."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def ready(page: Page) -> None:
    """Wait until the page has drawn the library (the upload input); the model may still be
    loading: uploads sent meanwhile queue."""
    page.locator("input[type=file]").wait_for(state="attached", timeout=240_000)


def settled(page: Page) -> None:
    """Wait for the script run a click started (if not already over) to finish.

    Without it a test can act on the widgets of the run before, which Streamlit then replaces
    (a file set on the old uploader is lost)."""
    from playwright.sync_api import expect

    app = page.get_by_test_id("stApp")
    with contextlib.suppress(AssertionError):
        expect(app).to_have_attribute("data-test-script-state", "running", timeout=5_000)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=120_000)


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page under tests/artifacts/ (for failures, and the README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextmanager
def chromium_page(failure_shot: str, wide: bool = True) -> Iterator[Page]:
    """A page in a fresh headless Chromium (1400 x 1000 when ``wide``), closed afterwards; a
    failure inside keeps a screenshot named ``failure_shot``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport=WIDE if wide else None)
        try:
            yield page
        except Exception:
            screenshot(page, failure_shot)
            raise
        finally:
            browser.close()
