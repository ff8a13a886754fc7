"""A real PostgreSQL 15 server for tests: initdb in a temp folder, on a free loopback port.

`initdb` refuses to run as root, so as root the server runs as the `postgres` user (its folder
is made for that user). Without the binaries the tests that need it are skipped, unless
DOCENT_TEST_SYSTEM=required (as `make test` sets): then they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, port_open

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "docent"


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def available() -> bool:
    """Whether PostgreSQL 15's server binaries are here."""
    return (BIN / "initdb").exists() and (BIN / "pg_ctl").exists()


def require() -> None:
    """Skip (or fail, when required) without PostgreSQL."""
    if available():
        return
    message = f"PostgreSQL 15 is not installed ({BIN}): apt-get install postgresql-15"
    if os.environ.get("DOCENT_TEST_SYSTEM") == "required":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_server() -> Iterator[tuple[str, int]]:
    """A running server: ``(host, port)``; stopped (immediately) and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="docent-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync"]
        ),
        **run,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        _as_server_user(
            [
                str(BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        **run,
    )
    try:
        assert port_open(port), (root / "log").read_text()
        yield "127.0.0.1", port
    finally:
        subprocess.run(
            _as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(host: str, port: int) -> str:
    """A fresh, empty database on the server; its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    subprocess.run(
        [str(BIN / "createdb"), "-h", host, "-p", str(port), "-U", USER, name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return f"postgresql://{USER}@{host}:{port}/{name}"
