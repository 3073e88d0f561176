"""A relay restored from a backup: the key tool notices, reads everything again, loses nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from keytool.inbox import Inbox

from .support.envelopes import StudentCase
from .support.keytool import Leads, listed_cases, run_keytool
from .support.paths import ROOT
from .support.processes import start_relay, stop_relay
from .support.relay_backups import back_up, delete_message, restore
from .support.retention import swept_store

pytestmark = pytest.mark.usefixtures("keytool_passphrase")


def fetch(leads: Leads, capsys: pytest.CaptureFixture[str]) -> str:
    """What the key tool warned while fetching."""
    code, _, err = run_keytool(
        capsys,
        "--home",
        leads.home,
        "fetch",
        "--relay",
        leads.relay.url,
        "--school",
        "lincoln-high",
    )
    assert code == 0, err
    return err


def new_epoch(leads: Leads, store_url: str) -> list[str]:
    """`python -m relay --new-epoch` as the restore procedure runs it; the lines it prints."""
    result = subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(leads.config), "--store", store_url]
        + ["--new-epoch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def restored(leads: Leads, store_url: str, tmp_path: Path) -> Iterator[None]:
    """Around a block: back up the running relay's store; after it, restore that backup."""
    backup = tmp_path / "relay.backup"
    back_up(store_url, backup)
    yield
    stop_relay(leads.relay)
    restore(store_url, backup)


def restart(leads: Leads, store_url: str, tmp_path: Path) -> None:
    """The relay again, at the same URL: the key tool keeps a cursor per relay URL."""
    port = int(leads.relay.url.rsplit(":", 1)[1])
    leads.relay = start_relay(leads.config, store_url, tmp_path, port=port)


def test_every_report_after_a_restore_reaches_the_lead_and_outlives_retention_until_held(
    leads_on: Leads, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Marcus, Lincoln High's other reader, holds only what came before the backup: a sweep
    past retention deletes that, and nothing Marcus has not said he holds."""
    leads = leads_on
    first = leads.post("before the backup")
    leads.fetch(capsys, leads.colleague)
    for _ in restored(leads, store_url, tmp_path):
        before = [leads.post(f"after the backup {i}") for i in range(3)]
        assert fetch(leads, capsys) == ""
    restart(leads, store_url, tmp_path)
    after = [leads.post(f"after the restore {i}") for i in range(5)]
    warned = fetch(leads, capsys)
    listed = {c["case_id"] for c in listed_cases(capsys, leads.home)}
    assert {c.case_id for c in before + after} <= listed
    assert len(listed) == 9
    assert warned.count("a restored relay?") == 1
    assert fetch(leads, capsys) == ""  # read again once, then as usual
    unheld = [*after, leads.post("after the last fetch")]

    past_retention = datetime.now(UTC).date() + timedelta(days=400)
    assert swept_store(store_url, past_retention, leads.deployment) == 1
    assert still_on_relay(leads, first) is False
    assert all(still_on_relay(leads, case) for case in unheld)
    leads.fetch(capsys, leads.colleague)
    held = {c["case_id"] for c in listed_cases(capsys, leads.colleague)}
    assert {c.case_id for c in unheld} <= held


def still_on_relay(leads: Leads, case: StudentCase) -> bool:
    """Whether the relay still has the case: its student can read it with the code."""
    status = httpx.get(leads.relay.url + "/api/v1/case", headers=case.headers).status_code
    assert status in (200, 404)
    return status == 200


def test_the_restore_procedure_numbers_new_messages_above_what_was_read(
    leads_on: Leads, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = leads_on
    leads.post("before the backup")
    for _ in restored(leads, store_url, tmp_path):
        before = [leads.post(f"after the backup {i}") for i in range(3)]
        fetch(leads, capsys)
    first, second = new_epoch(leads, store_url), new_epoch(leads, store_url)
    for line in (
        "cedar-valley-high: last cursor 0, the next message gets cursor 4294967296",
        "lincoln-high: last cursor 1, the next message gets cursor 4294967296",
    ):
        assert line in first
    # Run twice (a restore procedure repeated), the next cursor stays where the first put it.
    assert "lincoln-high: last cursor 4294967295, the next message gets cursor 4294967296" in second
    restart(leads, store_url, tmp_path)
    after = [leads.post(f"after the restore {i}") for i in range(5)]
    assert fetch(leads, capsys) == ""  # nothing was numbered again below what was read
    listed = {c["case_id"] for c in listed_cases(capsys, leads.home)}
    assert {c.case_id for c in before + after} <= listed
    with Inbox(leads.home) as inbox:
        assert inbox.cursor(leads.relay.url, "lincoln-high") == 2**32 + 4


def test_a_message_gone_through_retention_is_no_restore(
    leads_on: Leads, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = leads_on
    leads.post("first")
    leads.post("second: the row at the key tool's cursor")
    fetch(leads, capsys)
    delete_message(store_url, "lincoln-high", 2)
    assert fetch(leads, capsys) == ""
    later = leads.post("after the sweep")
    assert fetch(leads, capsys) == ""
    assert later.case_id in {c["case_id"] for c in listed_cases(capsys, leads.home)}
    with Inbox(leads.home) as inbox:
        assert inbox.cursor(leads.relay.url, "lincoln-high") == 3
