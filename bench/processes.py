"""What the benches start and wait for: a free port, a relay process, Debian's Chromium.

The benches keep their own copy of this rather than borrowing the tests' helpers,
so that a change to the suite never changes what a bench measures.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Return once the server accepts a connection; exit the bench if it died or hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server on port {port} exited; see its log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on port {port} did not start in {timeout} s")


@contextmanager
def relay(config: Path, store: str, log: Path, port: int, static: Path) -> Iterator[str]:
    """`python -m relay` serving `static` on a loopback port, for the block; its URL."""
    command = [
        sys.executable, "-m", "relay", "--config", str(config), "--store", store,
        "--host", "127.0.0.1", "--port", str(port), "--static", str(static),
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
