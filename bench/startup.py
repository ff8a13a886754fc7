"""Start-up: how long from `streamlit run app.py` until the page is useful, and until it answers.

    python -m bench.startup [--runs 3] [--app app.py [--app /tmp/old/app.py]]

Each run starts `streamlit run` on a free loopback port with a fresh data dir (no LLM, so
answers are extractive, and ``HF_HUB_OFFLINE=1``), opens the page in Debian's Chromium as soon
as the health endpoint answers, and times, from the moment the server process was started:

- **health**: ``/_stcore/health`` answers 200 (Streamlit is up; no script has run yet);
- **page**: the title is drawn (the visitor sees something);
- **usable**: the upload area is visible (files can be chosen and sent);
- **answer**: a small Markdown file is uploaded and indexed, and the first question's answer
  is on the page: the embedding model is loaded and the whole path works;
- **cpu**: CPU seconds the server process had used by then (all its threads; Linux only), which
  shows what the page costs while the model loads, apart from the machine's other load.

Chromium is started before the clock (its own start-up is not the app's). The OpenVINO export
of the model is made once per machine (``~/.cache/docent``): the table says whether it was
there before the first run. Given several ``--app`` scripts (e.g. an older ``app.py`` with its
``ui/`` unpacked elsewhere: ``git archive OLD app.py ui | tar -x -C /tmp/old``; Streamlit puts
the script's folder first on the path, so that ``ui`` is the one imported, with this checkout's
``rag``), runs alternate between them, so a machine busy with other work slows each alike.
Prints Markdown tables for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rag.config import get_settings
from tests.browser import CHROMIUM, FLAGS, NO_LLM
from tests.servers import free_port

REPO = Path(__file__).resolve().parent.parent
STEPS = ("health", "page", "usable", "answer", "cpu")
DOC = (
    "# Bees\n\nHoney bees communicate the direction of flowers with a waggle dance performed "
    "inside the dark hive on vertical comb.\n\n# Glaciers\n\nThe Aletsch glacier in the Swiss "
    "Alps is the largest glacier in the Alps, about twenty kilometres long.\n"
)
QUESTION = "How do honey bees tell direction?"
TIMEOUT_MS = 600_000  # a loaded 2-core machine can take minutes


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (NaN where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(app: str, browser: object, work: Path) -> dict[str, float]:
    """Start the app once and time the four steps (seconds since the process started), and
    the server's CPU seconds at the last."""
    from playwright.sync_api import expect

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in NO_LLM and not k.startswith("DOCENT_")}
    env |= {"DOCENT_DATA_DIR": str(work / "data"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    doc = work / "bees.md"
    doc.write_text(DOC)
    times: dict[str, float] = {}
    with (work / "streamlit.log").open("wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not _healthy(url):
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}: see {log.name}")
                if time.perf_counter() - start > TIMEOUT_MS / 1000:
                    raise RuntimeError("the health endpoint never answered")
                time.sleep(0.05)
            times["health"] = time.perf_counter() - start
            page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
            page.goto(url)
            page.get_by_role("heading", name="Docent").first.wait_for(timeout=TIMEOUT_MS)
            times["page"] = time.perf_counter() - start
            dropzone = page.get_by_test_id("stFileUploaderDropzone")
            dropzone.wait_for(state="visible", timeout=TIMEOUT_MS)
            times["usable"] = time.perf_counter() - start
            page.locator("input[type=file]").set_input_files(str(doc))
            page.get_by_role("button", name="Index").click()
            box = page.get_by_placeholder("Ask a question about your documents")
            expect(box).to_be_enabled(timeout=TIMEOUT_MS)
            box.fill(QUESTION)
            box.press("Enter")
            answer = page.get_by_test_id("stChatMessage").last
            expect(answer.get_by_text("mode extractive")).to_be_visible(timeout=TIMEOUT_MS)
            expect(answer.get_by_text("waggle").first).to_be_visible()
            times["answer"] = time.perf_counter() - start
            times["cpu"] = _cpu_seconds(proc.pid)
            page.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return times


def main() -> None:
    """Run each app ``--runs`` times (alternating) and print a table per app and the medians."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--app", action="append", help="a script to run (default app.py); may be repeated"
    )
    args = parser.parse_args()
    apps: list[str] = args.app or ["app.py"]
    export = get_settings().model_cache_dir / "openvino"
    warm = export.exists() and any(export.iterdir())
    rows: dict[str, list[dict[str, float]]] = {app: [] for app in apps}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for i in range(args.runs):
                for app in apps:
                    with tempfile.TemporaryDirectory(prefix="docent-startup-") as tmp:
                        rows[app].append(one_run(app, browser, Path(tmp)))
                    times = ", ".join(f"{k} {v:.1f} s" for k, v in rows[app][-1].items())
                    print(f"{app} run {i + 1}: {times}", flush=True)
        finally:
            browser.close()
    print(
        f"\n{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"OpenVINO export {'cached' if warm else 'made in the first run'}, load average "
        f"{os.getloadavg()[0]:.1f} at the end\n"
    )
    header = "| health s | page s | usable s | answer s | cpu s |"
    for app in apps:
        print(f"{app}\n\n| run {header}\n|---|---|---|---|---|---|")
        for i, r in enumerate(rows[app], 1):
            print(f"| {i} | " + " | ".join(f"{r[s]:.1f}" for s in STEPS) + " |")
        print()
    print(f"| medians {header}\n|---|---|---|---|---|---|")
    for app in apps:
        medians = [statistics.median(r[s] for r in rows[app]) for s in STEPS]
        print(f"| {app} | " + " | ".join(f"{m:.1f}" for m in medians) + " |")


if __name__ == "__main__":
    main()
