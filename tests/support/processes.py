"""Real relay and desk processes on free loopback ports, and waiting for a condition."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .paths import ROOT

RELAY_MODULE = (sys.executable, "-m", "relay")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    condition: Callable[[], object], timeout: float = 30.0, why: Callable[[], str] = str
) -> None:
    """Poll a condition until it holds; fail the test if it does not within the timeout.

    why: what to say when it fails (a server's log, say), read only then.
    """
    if not holds_within(condition, timeout):
        raise AssertionError(f"still not true after {timeout} s. {why()}")


def holds_within(condition: Callable[[], object], timeout: float) -> bool:
    """Check a condition every 50 ms until it holds (True) or the timeout has passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class RelayProcess:
    url: str
    store: str  # the store URL it was started with
    db_path: Path  # its SQLite file (Path() on PostgreSQL)
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_relay(
    config: Path,
    store: str,
    tmp: Path,
    static: Path | None = None,
    port: int | None = None,
    http: str = "auto",
    command: Sequence[str] = RELAY_MODULE,
    env: Mapping[str, str] | None = None,
) -> RelayProcess:
    """Start `python -m relay` (or `command`, from `tmp`, with `env`) on a free loopback
    port and wait until it is serving.

    Readiness is read from the relay's own log, not by polling the port, so a
    test can never mistake another process on a reused port for its relay; a
    lost race for a free port is retried on another one.
    """
    for _attempt in range(3):
        relay = _spawn_relay(config, store, tmp, static, port or free_port(), http, command, env)
        if relay is not None:
            return relay
        if port is not None:
            break
    raise RuntimeError("the relay did not start; see the relay-*.log files in " + str(tmp))


def _spawn_relay(
    config: Path,
    store: str,
    tmp: Path,
    static: Path | None,
    port: int,
    http: str,
    command: Sequence[str],
    env: Mapping[str, str] | None,
) -> RelayProcess | None:
    log_path = tmp / f"relay-{port}-{secrets.token_hex(3)}.log"
    args = [
        *command,
        "--config",
        str(config),
        "--store",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--http",
        http,
    ]
    if static is not None:
        args += ["--static", str(static)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT if command == RELAY_MODULE else tmp,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    ready = f"Uvicorn running on {url}".encode()
    holds_within(lambda: ready in log_path.read_bytes() or process.poll() is not None, 20)
    if ready not in log_path.read_bytes():
        process.kill()
        process.wait()
        return None
    db_path = Path(store.removeprefix("sqlite:///")) if store.startswith("sqlite") else Path()
    return RelayProcess(url=url, store=store, db_path=db_path, log_path=log_path, process=process)


def stop_relay(relay: RelayProcess) -> None:
    relay.process.terminate()
    try:
        relay.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        relay.process.kill()
        relay.process.wait()


@dataclass
class DeskProcess:
    """`python -m keytool desk` running: its one-time link, and its own output."""

    link: str
    base: str  # http://127.x.y.z:PORT (Linux: a random loopback address)
    out_path: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")


def start_desk(
    home: Path,
    config: Path,
    relay_url: str,
    tmp: Path,
    extra: tuple[str, ...] = (),
    browser: str | None = None,
) -> DeskProcess:
    """The desk on a free loopback port (it picks one), ready when it prints its link;
    `extra` adds desk options, `browser` is the command `--open` runs (BROWSER)."""
    out_path = tmp / f"desk-{secrets.token_hex(3)}.log"
    args = [sys.executable, "-m", "keytool", "--home", str(home), "--config", str(config)]
    args += ["desk", "--relay", relay_url, *extra]
    env = {k: v for k, v in os.environ.items() if k != "QUIETDOOR_PASSPHRASE"}  # asked in the page
    if browser is not None:
        env["BROWSER"] = browser
    with out_path.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    link = re.compile(r"(http://127\.\d+\.\d+\.\d+:\d+)/open\?key=\S+")
    holds_within(lambda: link.search(out_path.read_text()) or process.poll() is not None, 20)
    found = link.search(out_path.read_text())
    if found:
        return DeskProcess(found.group(0), found.group(1), out_path, process)
    process.kill()
    process.wait()
    raise RuntimeError("the desk did not start:\n" + out_path.read_text())


def stop_desk(desk: DeskProcess) -> int:
    """Ctrl-C, as the lead would press it; the exit code."""
    desk.process.send_signal(signal.SIGINT)
    try:
        return desk.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        desk.process.kill()
        return desk.process.wait()


def open_files() -> list[str]:
    """The paths of the files this process has open (Linux: /proc/self/fd)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
    return paths
