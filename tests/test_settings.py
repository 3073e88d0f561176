"""What the key tool remembers: the desk and a command at once lose nothing of each other's."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from keytool.desk.runtime import DeskRuntime
from keytool.session import Session
from keytool.settings import SETTINGS_FILE

from .support.keytool import PASS, Leads
from .support.paths import ROOT
from .support.processes import wait_until
from .test_desk import ORIGIN, desk_client, unlocked, wait_for_fetch


def remembered(home: Path) -> dict[str, str]:
    settings: dict[str, str] = json.loads((home / SETTINGS_FILE).read_text(encoding="utf-8"))
    return settings


def test_check_now_in_a_running_desk_keeps_what_the_command_line_remembered(
    leads: Leads, tmp_path: Path
) -> None:
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with desk_client(runtime) as client:
        unlocked(client, runtime)
        before = wait_for_fetch(client)["fetches"]
        assert isinstance(before, int)
        # `roster --modules` in a terminal while the desk runs: it remembers the course.
        Session.open(leads.home, PASS).remember(modules=str(tmp_path / "dist"))
        assert client.post("/check", headers=ORIGIN).status_code in (200, 303)

        def checked_again() -> bool:
            fetches = client.get("/status").json()["fetches"]
            return isinstance(fetches, int) and fetches > before

        wait_until(checked_again, why=lambda: "the desk never checked again")
    settings = remembered(leads.home)
    assert settings["modules"] == str(tmp_path / "dist")
    assert settings["relay_url"] == leads.relay.url


WRITER = """
import sys
from pathlib import Path
from keytool.session import Session
session = Session.open(Path(sys.argv[1]), sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
for i in range(100):
    session.remember(**{sys.argv[3]: f"{sys.argv[4]}{i}"})
"""


def test_two_runs_remembering_at_once_keep_both_keys(home: Path) -> None:
    """A desk and a command, each with its own key, writing at the same moment many times."""
    with contextlib.ExitStack() as running:
        writers = [
            running.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, str(home), PASS, key, prefix],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            for key, prefix in (("relay_url", "http://127.0.0.1:1/"), ("modules", "/course/"))
        ]
        for w in writers:
            assert w.stdout is not None and w.stdout.readline() == "ready\n"
        for w in writers:  # both unlocked: let them go at once
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        assert [w.communicate(timeout=60)[0] for w in writers] == ["", ""]
        assert [w.returncode for w in writers] == [0, 0]
    settings = remembered(home)
    assert settings["relay_url"] == "http://127.0.0.1:1/99"
    assert settings["modules"] == "/course/99"
