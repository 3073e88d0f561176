"""`roster` and `stats` report on what the relay holds now, not on the last fetch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx2 as httpx
import pytest

from keytool.settings import update_settings

from .support.envelopes import sealed_training, training_record
from .support.keytool import Leads, run_keytool

pytestmark = pytest.mark.usefixtures("keytool_passphrase")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    path = tmp_path / "course.json"
    path.write_text(json.dumps({"modules": [{"id": "m01", "title": "One", "version": "1"}]}))
    return path


def send_record(leads: Leads, name: str) -> None:
    record = training_record("lincoln-high", name, [("m01", "1", "2026-11-28")])
    answer = httpx.post(
        leads.relay.url + "/api/v1/cases", json=sealed_training(leads.deployment, record)
    )
    assert answer.status_code == 201, answer.text


def roster_names(out: str) -> list[str]:
    return [r["name"] for r in csv.DictReader(io.StringIO(out))]


def test_roster_shows_a_record_sent_a_minute_ago_without_a_separate_fetch(
    leads: Leads, capsys: pytest.CaptureFixture[str], course: Path
) -> None:
    leads.fetch(capsys)  # the relay is remembered from now on
    send_record(leads, "Ana Ruiz")
    code, out, err = run_keytool(capsys, "--home", leads.home, "roster", "--modules", course)
    assert code == 0, err
    assert roster_names(out) == ["Ana Ruiz"]
    assert f"keytool: fetched 1 new message from {leads.relay.url} first" in err


def test_stats_count_a_report_sent_a_minute_ago(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    leads.fetch(capsys)
    leads.post("a report sent just now")
    code, out, err = run_keytool(capsys, "--home", leads.home, "stats", "--csv", "/dev/null")
    assert code == 0, err
    assert out.startswith("1 report in ")


def test_no_fetch_uses_the_inbox_as_it_is_and_says_how_old(
    leads: Leads, capsys: pytest.CaptureFixture[str], course: Path
) -> None:
    leads.fetch(capsys)
    send_record(leads, "Ana Ruiz")
    leads.fetch(capsys)
    send_record(leads, "Ben Okafor")
    code, out, err = run_keytool(
        capsys, "--home", leads.home, "roster", "--modules", course, "--no-fetch"
    )
    assert code == 0, err
    assert roster_names(out) == ["Ana Ruiz"]
    assert "not fetched (--no-fetch): the newest message in the inbox was fetched on " in err
    assert err.rstrip().endswith("(UTC)")


@pytest.mark.parametrize("command", ["roster", "stats"])
def test_a_relay_out_of_reach_stops_the_report_and_offers_no_fetch(
    leads: Leads, capsys: pytest.CaptureFixture[str], course: Path, command: str
) -> None:
    update_settings(leads.home, relay_url="http://127.0.0.1:9", modules=str(course))
    code, out, err = run_keytool(capsys, "--home", leads.home, command)
    assert code == 1 and out == ""
    assert "cannot reach the relay at http://127.0.0.1:9" in err
    assert err.rstrip().endswith("--no-fetch uses the inbox as it is")
    code, _, err = run_keytool(capsys, "--home", leads.home, command, "--no-fetch")
    assert code == 0, err
    assert "keytool: not fetched (--no-fetch): the inbox is empty" in err
