"""`python -m demo`: a second demo, on another port, leaves the first one's folders alone."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pytest

from demo.cli import COMMANDS, ROOT, default_folders
from demo.lock import FolderInUse, claim
from demo.on_call import PATH as ON_CALL_PATH
from quietdoor.config import load_config
from relay.alerts import Alerter
from relay.escalate import Planner
from relay.escalation_store import TRIGGER, Alert
from relay.notify import Notifier

from .support.processes import free_port, wait_until


@pytest.mark.parametrize(
    ("port", "var", "out"),
    [
        (8000, "var/demo", "dist"),
        (8001, "var/demo-8001", "var/demo-8001/dist"),
        (9123, "var/demo-9123", "var/demo-9123/dist"),
    ],
)
def test_each_port_has_its_own_folders_by_default(port: int, var: str, out: str) -> None:
    assert default_folders(port, None, None) == (ROOT / var, ROOT / out)


def demo(tmp: Path, port: int, var: Path, out: Path) -> subprocess.Popen[bytes]:
    with (tmp / f"demo-{port}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "demo"]
            + ["--port", str(port), "--var", str(var), "--out", str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def test_a_second_demo_cannot_take_the_first_one_s_folders(tmp_path: Path) -> None:
    var, out = tmp_path / "first", tmp_path / "first" / "dist"
    port = free_port()
    first = demo(tmp_path, port, var, out)
    try:
        log, relay_log = tmp_path / f"demo-{port}.log", var / "relay.log"
        wait_until(
            lambda: (
                (relay_log.exists() and b"Uvicorn running on" in relay_log.read_bytes())
                or first.poll() is not None
            ),
            timeout=240,
            why=log.read_text,
        )
        said = log.read_text()
        assert f"its log goes to {relay_log}" in said and '"level"' not in said
        scripts = [str(Path(sys.executable).parent / script) for script, _, _ in COMMANDS]
        assert [s for s in scripts if s not in said] == [] and len(scripts) == 4
        assert first.poll() is None, log.read_text()
        # The relay's own alert, through the example's channel, reaches the demo's terminal.
        assert "While the demo runs, alerts to its webhook channel appear" in said
        deployment = load_config(var / "demo.toml")
        alerter = Alerter(Planner(deployment), Notifier(deployment))
        (channel,) = deployment.escalation.channels
        alert = Alert("0" * 32, 1, f"channel:{channel.id}", "lincoln-high", TRIGGER, 15, 0)
        alerter.deliver(alert)  # raises NotifyError unless the listener took it
        wait_until(
            lambda: (
                "on call: Quiet Door: a new message for Lincoln High School has waited 15"
                in log.read_text()
            ),
            timeout=10,
            why=log.read_text,
        )
        manifest = (out / "manifest.json").read_bytes()
        settings = (var / "keys" / "dana-ortiz" / "settings.json").read_bytes()
        for other_var, other_out in [(var, tmp_path / "o1"), (tmp_path / "o2", out)]:
            second = subprocess.run(
                [sys.executable, "-m", "demo", "--port", str(free_port())]
                + ["--var", str(other_var), "--out", str(other_out)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=120,
            )
            assert second.returncode == 2
            assert f"in use by the demo running on port {port}" in second.stderr
        assert (out / "manifest.json").read_bytes() == manifest
        assert (var / "keys" / "dana-ortiz" / "settings.json").read_bytes() == settings
        with pytest.raises(FolderInUse):
            claim(var, 1)
    finally:
        first.terminate()
        first.wait(timeout=20)
    claim(var, 1)  # free again once the first demo has stopped


def test_a_busy_port_is_found_before_anything_is_built(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "demo", "--port", str(port)]
            + ["--var", str(tmp_path / "var"), "--out", str(tmp_path / "dist")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert result.returncode == 2
    assert result.stderr == (
        f"demo: port {port} is in use (another demo or program); choose another with --port\n"
    )
    assert result.stdout == "" and not (tmp_path / "dist").exists()
    assert not (tmp_path / "var").exists()  # no keys made either


def _posted(url: str, body: object) -> int:
    """The status a POST of this JSON gets; 0 when nothing answers."""
    try:
        return httpx.post(url, json=body, timeout=5).status_code
    except httpx.TransportError:
        return 0


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's first process may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_the_on_call_listener_prints_each_alert_safely_and_stops_with_its_parent(
    tmp_path: Path,
) -> None:
    printed = tmp_path / "terminal.txt"
    parent_code = (  # as the demo starts it: a socket it holds, passed by its descriptor
        "import subprocess, sys\n"
        "from demo.on_call import listen\n"
        "sock = listen()\n"
        "child = subprocess.Popen([sys.executable, '-m', 'demo.on_call', str(sock.fileno())],"
        " pass_fds=[sock.fileno()], start_new_session=True)\n"
        "print(child.pid, sock.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    with printed.open("wb") as terminal:
        parent = subprocess.Popen(
            [sys.executable, "-c", parent_code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=terminal,
            cwd=ROOT,
        )
    try:
        assert parent.stdout is not None
        listener, port = map(int, parent.stdout.readline().split())
        url = f"http://127.0.0.1:{port}{ON_CALL_PATH}"
        alert = {"text": "Lincoln High School has waited 15 minutes\x1b[2J"}
        wait_until(lambda: _posted(url, alert) == 204, timeout=30, why=printed.read_text)
        wait_until(lambda: "waited 15 minutes" in printed.read_text(), timeout=10)
        assert "on call: Lincoln High School has waited 15 minutes\\x1b[2J" in printed.read_text()
        assert "\x1b" not in printed.read_text()
        for bad in ({"words": "no text"}, ["text"], {"text": 15}):
            assert _posted(url, bad) == 400
        assert _posted(url.replace(ON_CALL_PATH, "/elsewhere"), alert) == 400
    finally:
        parent.kill()
        parent.communicate()  # waits, and closes its pipes
    wait_until(lambda: not _running(listener), timeout=15, why=lambda: "the listener outlived it")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "usage: python -m demo.on_call FD"),
        (["not-a-number"], "usage: python -m demo.on_call FD"),
        (["999"], "demo: the on-call channel has no socket to listen on"),
    ],
)
def test_the_on_call_listener_given_no_socket_says_so_in_one_line(
    args: list[str], said: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo.on_call", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr
