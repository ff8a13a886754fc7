"""nginx in front of a Chroma server, configured by the repository's own
`deploy/nginx-chroma.conf` (the file the README installs), on free loopback ports."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, serve

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "deploy" / "nginx-chroma.conf"


def require() -> str:
    """nginx's path; skip without it, or fail when DOCENT_TEST_SYSTEM=required (`make test`
    sets it, after installing nginx-light when run as root)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        message = "nginx is not installed: apt-get install nginx-light"
        if os.environ.get("DOCENT_TEST_SYSTEM") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _main_config(root: Path, server_block: str) -> str:
    """A whole nginx.conf that keeps every file inside ``root`` (no /var, no root needed)."""
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nmaster_process off;\npid {root / 'nginx.pid'};\n"
        f"error_log {root / 'error.log'} info;\nevents {{}}\n"
        f"http {{\n    access_log {root / 'access.log'};\n{temp}\n{server_block}\n}}\n"
    )


@contextmanager
def chroma_proxy(chroma_port: int, token: str) -> Iterator[int]:
    """Run nginx with the deploy config, forwarding to ``chroma_port``; yield its port."""
    nginx = require()
    root = Path(tempfile.mkdtemp(prefix="docent-nginx-"))
    port = free_port()
    block = (
        CONFIG.read_text()
        .replace("listen 8001;", f"listen 127.0.0.1:{port};")
        .replace("127.0.0.1:8000", f"127.0.0.1:{chroma_port}")
        .replace("CHROMA_TOKEN", token)
    )
    conf = root / "nginx.conf"
    conf.write_text(_main_config(root, block))
    try:
        with serve([nginx, "-p", str(root), "-c", str(conf)], port, root / "stdout.log"):
            yield port
    finally:
        shutil.rmtree(root, ignore_errors=True)
