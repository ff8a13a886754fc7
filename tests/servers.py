"""Start a real server process for a test on a loopback port, and always stop it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    """Something accepts connections on ``127.0.0.1:port``."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def serve(
    cmd: list[str],
    port: int,
    log: Path,
    ready: Callable[[], bool] | None = None,
    timeout: float = 180,
    **popen: object,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` (output to ``log``) until ``ready()`` (default: the port accepts), then yield;
    terminate it (kill if it lingers) on the way out, whatever happened."""
    check = ready or (lambda: port_open(port))
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
        try:
            deadline = time.monotonic() + timeout
            while not check():
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: see {log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{' '.join(cmd[:3])} did not start: see {log}")
                time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
