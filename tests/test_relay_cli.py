"""`python -m relay` refuses bad arguments in one line, before it listens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .support.deployments import KeyedDeployment
from .support.paths import ROOT


def relay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--config", "nowhere.toml"], "nowhere.toml: file not found"),
        (["--store", "mysql://x"], "must start with sqlite:/// or postgresql://"),
        (["--store", "sqlite:///no/such/folder/relay.db"], "does not exist"),
        (["--store", "postgresql://127.0.0.1:1/none"], "cannot use the PostgreSQL database"),
        (["--static", "no-such-dist"], "no such folder; build the site first (quietdoor-build)"),
    ],
)
def test_bad_arguments_are_one_line(
    deployment: KeyedDeployment, tmp_path: Path, args: list[str], words: str
) -> None:
    base = ["--config", str(deployment.path), "--store", f"sqlite:///{tmp_path / 'r.db'}"]
    result = relay(*base, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("relay: ") and words in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
