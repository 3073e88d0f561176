"""Every command ends a closed pipe (`| head -1`) quietly and Ctrl-C in one line."""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest

from builder.site import build_site
from quietdoor import console
from quietdoor.config import load_config

from .support.keytool import PASS
from .support.paths import ROOT
from .support.processes import free_port

DEMO = ROOT / "examples" / "demo.toml"


@pytest.fixture
def empty_site(tmp_path: Path) -> Iterator[str]:
    """A web server with nothing on it: the monitor finds every file of a build missing."""
    (tmp_path / "empty").mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "empty"))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def commands(tmp: Path, site: str) -> dict[str, list[str]]:
    """Each command as a person runs it, with more than a line to print on standard output."""
    dist = tmp / "dist"
    return {
        "build": [str(ROOT / "build.py"), "--config", str(DEMO), "--out", str(dist), "--jobs", "1"],
        "relay": ["relay", "--config", str(DEMO), "--store", f"sqlite:///{tmp / 'r.db'}"]
        + ["--new-epoch"],
        "keytool": ["keytool", "--home", str(tmp / "keys"), "init", "--id", "dana-ortiz"]
        + ["--name", "Dana Ortiz", "--school", "lincoln-high"],
        "monitor": ["builder.monitor", "--manifest", str(dist / "manifest.json"), "--site", site],
        "demo": ["demo", "--port", str(free_port()), "--var", str(tmp / "demo")]
        + ["--out", str(tmp / "demo-dist")],
    }


def python_args(command: list[str]) -> list[str]:
    """A script's path as it is; a module's name after -m."""
    return command if command[0].endswith(".py") else ["-m", *command]


@pytest.mark.parametrize("name", ["build", "relay", "keytool", "monitor", "demo"])
def test_a_closed_standard_output_ends_quietly(name: str, tmp_path: Path, empty_site: str) -> None:
    """Like `quietdoor-build | head -1` when head has gone: no traceback, no second thought."""
    if name == "monitor":  # a build to check
        build_site(load_config(DEMO), tmp_path / "dist")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        result = subprocess.run(
            [sys.executable, *python_args(commands(tmp_path, empty_site)[name])],
            cwd=ROOT,
            env={**os.environ, "QUIETDOOR_PASSPHRASE": PASS},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr
    assert result.returncode == 0


SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


class Lines:
    """A pipe read line by line, each read waiting at most `seconds` for more."""

    def __init__(self, stream: IO[bytes], seconds: float = 30) -> None:
        self.fd, self.seconds, self.buffer = stream.fileno(), seconds, b""

    def next(self) -> str | None:
        """The next whole line; None at the end of the stream or after waiting in vain."""
        while b"\n" not in self.buffer:
            if not select.select([self.fd], [], [], self.seconds)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def until(self, marker: str) -> list[str]:
        """Lines up to one that ends with marker (all there were if none did)."""
        lines: list[str] = []
        while (line := self.next()) is not None:
            lines.append(line)
            if line.endswith(marker):
                break
        return lines

    def rest(self) -> list[str]:
        return self.until("\0never")


@pytest.mark.parametrize(
    ("script", "prog", "args"),
    [
        ("quietdoor-build", "build", ["--config", "{fifo}", "--out", "{tmp}/dist"]),
        ("quietdoor-monitor", "monitor", ["--manifest", "{fifo}"]),
        ("quietdoor-relay", "relay", ["--config", "{fifo}", "--store", "sqlite:///{tmp}/r.db"]),
        ("quietdoor-keytool", "keytool", ["--home", "{tmp}/home", "restore", "--from", "{fifo}"]),
    ],
)
def test_ctrl_c_while_a_command_loads_is_one_line(
    script: str, prog: str, args: list[str], tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT to the command's process group) during its imports: "PROG: stopped", 130.

    Python reports each import on standard error as it ends (PYTHONPROFILEIMPORTTIME);
    the signal goes as soon as the first module after the console script's own has
    loaded, in the midst of loading the command. Had the imports ended first, the
    command waits on a FIFO nobody writes to, so the signal still finds it running.
    """
    module, function = SCRIPTS[script].split(":")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    argv = [a.format(fifo=fifo, tmp=tmp_path) for a in args]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; from {module} import {function}; sys.exit({function}())",
        ]
        + argv,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPROFILEIMPORTTIME": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stderr is not None
    try:
        lines = Lines(process.stderr)
        before = lines.until(f"| {module}")
        assert before and before[-1].endswith(f"| {module}"), before[-3:]
        loading = lines.next()  # the next import to end: the command is loading
        assert loading is not None, f"nothing loads after {module}: it loaded before its guard"
        os.killpg(process.pid, signal.SIGINT)
        rest = [loading, *lines.rest()]
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()
    said = [line for line in rest if not line.startswith("import time:")]
    assert said == [f"{prog}: stopped"]
    assert code == console.STOPPED


def test_a_broken_pipe_other_than_standard_output_is_an_error() -> None:
    """Only a reader of standard output going away ends quietly; another pipe's is a failure."""

    def main(argv: list[str] | None) -> int:
        read_end, write_end = os.pipe()
        os.close(read_end)  # as when a child process we write to has died
        with open(write_end, "wb", buffering=0) as child:
            child.write(b"to a reader that has gone")
        return 0

    with pytest.raises(BrokenPipeError):
        console.run("test", main)
