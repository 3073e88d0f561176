"""Every command ends a closed pipe (`| head -1`) quietly and Ctrl-C in one line."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from builder.site import build_site
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
        "build": ["builder.cli", "--config", str(DEMO), "--out", str(dist), "--jobs", "1"],
        "relay": ["relay", "--config", str(DEMO), "--store", f"sqlite:///{tmp / 'r.db'}"]
        + ["--new-epoch"],
        "keytool": ["keytool", "--home", str(tmp / "keys"), "init", "--id", "dana-ortiz"]
        + ["--name", "Dana Ortiz", "--school", "lincoln-high"],
        "monitor": ["builder.monitor", "--manifest", str(dist / "manifest.json"), "--site", site],
        "demo": ["demo", "--port", str(free_port()), "--var", str(tmp / "demo")]
        + ["--out", str(tmp / "demo-dist")],
    }


@pytest.mark.parametrize("name", ["build", "relay", "keytool", "monitor", "demo"])
def test_a_closed_standard_output_ends_quietly(name: str, tmp_path: Path, empty_site: str) -> None:
    """Like `quietdoor-build | head -1` when head has gone: no traceback, no second thought."""
    if name == "monitor":  # a build to check
        build_site(load_config(DEMO), tmp_path / "dist")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        result = subprocess.run(
            [sys.executable, "-m", *commands(tmp_path, empty_site)[name]],
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
