"""`init` at a keyboard: a passphrase too short is asked again, not the end of the run."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

from .support.paths import ROOT


def at_a_terminal(argv: list[str], typed: list[str]) -> tuple[int, str]:
    """Run argv with a terminal of its own (getpass reads /dev/tty); type each line on a prompt."""
    env = {k: v for k, v in os.environ.items() if k != "QUIETDOOR_PASSPHRASE"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the key tool, its terminal the pty
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, *argv], env)
    seen = b""
    lines = iter(typed)
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child has gone: the pty is closed
            break
        if not chunk:
            break
        seen += chunk
        if chunk.rstrip().endswith(b":"):  # a prompt
            os.write(fd, (next(lines, "") + "\n").encode())
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def test_a_short_passphrase_is_asked_again(tmp_path: Path) -> None:
    good = "four unrelated words here"
    code, said = at_a_terminal(
        ["-m", "keytool", "--home", str(tmp_path / "keys"), "init", "--id", "dana-ortiz"]
        + ["--name", "Dana Ortiz", "--school", "lincoln-high"],
        ["short", good, good],
    )
    assert code == 0, said
    assert "try again" in said and "[[recipients]]" in said
    assert (tmp_path / "keys" / "identity.json").exists()
