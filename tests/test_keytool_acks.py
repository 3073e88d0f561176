"""The key tool's acknowledgments, end to end with the real relay: `held` and `seen`."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from keytool import cases
from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime
from keytool.inbox import Inbox
from quietdoor.config import load_config
from quietdoor.encoding import b64u_decode
from relay.stores import open_store

from .support.deployments import with_keys_of
from .support.envelopes import StudentCase, new_case, sealed_training, training_record
from .support.keytool import PASS, Leads, case_ref, run_keytool
from .support.ladders import ENV, escalation_open, write_ladder
from .support.old_relay import old_relay
from .support.processes import free_port, wait_until
from .support.retention import swept_store

CASE = "/api/v1/case"


def acks(leads: Leads, reader: str) -> tuple[int, int]:
    """(held, seen) as the relay recorded them for this reader of Lincoln High."""
    store = open_store(f"sqlite:///{leads.relay.db_path}")
    try:
        row = store.read(
            lambda tx: tx.one(
                "SELECT cursor, seen FROM fetched WHERE school = 'lincoln-high' AND reader = ?",
                (reader,),
            )
        )
    finally:
        store.close()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def swept_in_90_days(leads: Leads) -> int:
    on = datetime.now(UTC).date() + timedelta(days=90)
    return swept_store(leads.relay.store, on, leads.deployment)


def test_a_fetch_says_held_for_what_it_stored(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    leads.post("one")
    leads.post("two")
    leads.fetch(capsys)
    assert acks(leads, "dana-ortiz") == (2, 0)  # held, not seen: nobody looked yet
    assert swept_in_90_days(leads) == 0  # Marcus holds nothing yet
    leads.fetch(capsys, leads.colleague)
    assert swept_in_90_days(leads) == 2


def test_a_cursor_beyond_what_was_served_is_read_past_and_never_claimed(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cursor ahead of the relay (a forged inbox backup) neither hides the report nor holds
    more than the tool has: the fetch reads from the start and `held` says 1, not 5."""
    case = leads.post("never read")
    for home in (leads.home, leads.colleague):  # as a forged inbox backup would leave them
        with Inbox(home) as inbox, inbox.db:
            inbox.db.execute(
                "INSERT INTO cursors (relay, school, after) VALUES (?, 'lincoln-high', 5)",
                (leads.relay.url,),
            )
        leads.fetch(capsys, home)
        with Inbox(home) as inbox:
            assert len(list(inbox.messages())) == 1
    assert acks(leads, "dana-ortiz") == (1, 0)
    assert httpx.get(leads.relay.url + CASE, headers=case.headers).status_code == 200


def test_list_and_show_say_seen(leads: Leads, capsys: pytest.CaptureFixture[str]) -> None:
    leads.post("one")
    leads.fetch(capsys)
    code, _, err = run_keytool(capsys, "--home", leads.home, "list")
    assert code == 0 and err == ""
    assert acks(leads, "dana-ortiz") == (1, 1)
    case = leads.post("two")
    leads.fetch(capsys)
    assert acks(leads, "dana-ortiz") == (2, 1)
    code, _, _ = run_keytool(
        capsys, "--home", leads.home, "show", case_ref(capsys, leads.home, case)
    )
    assert code == 0
    assert acks(leads, "dana-ortiz")[1] == 2


def test_show_says_seen_only_below_a_case_nobody_looked_at(
    leads: Leads,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`show` of one case claims no report of another: `seen` stops below the other case's
    "not safe now" report, so the school's escalation stays open until someone views it."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    ladder = replace(load_config(write_ladder(tmp_path)), relay=leads.deployment.relay)
    leads.restart(with_keys_of(ladder, {"dana-ortiz": leads.home}), "ladder.toml")
    shown = leads.post("first")
    leads.post("second, not safe now", safe_now="no")
    third = leads.post("third")
    leads.fetch(capsys)
    store_url = f"sqlite:///{leads.relay.db_path}"
    assert escalation_open(store_url)
    for case, seen in ((shown, 1), (third, 1)):
        show(capsys, leads, case)
        assert acks(leads, "dana-ortiz") == (3, seen)
        assert escalation_open(store_url)
    code, _, err = run_keytool(capsys, "--home", leads.home, "list")
    assert code == 0 and err == ""
    assert acks(leads, "dana-ortiz") == (3, 3)
    assert not escalation_open(store_url)


def test_a_training_record_never_holds_seen_back(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staff member's training record asks nothing of a person: `show` of the one report
    claims it too, or a lead who reads with `show` alone would be alerted without end."""
    record = training_record("lincoln-high", "Rosa Trainee", [("m01", "1", "2026-11-28")])
    sent = httpx.post(
        leads.relay.url + "/api/v1/cases", json=sealed_training(leads.deployment, record)
    )
    assert sent.status_code == 201
    report = leads.post("the report")
    leads.fetch(capsys)
    assert acks(leads, "dana-ortiz") == (2, 0)
    show(capsys, leads, report)
    assert acks(leads, "dana-ortiz") == (2, 2)


def test_what_this_tool_sent_never_holds_seen_back(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    """The read receipt `show` sends was seen by its writer: showing the next case claims it."""
    first = leads.post("one")
    leads.fetch(capsys)
    show(capsys, leads, first)  # and the receipt goes out
    second = leads.post("two")
    leads.fetch(capsys)  # the receipt (2) and the second report (3)
    assert acks(leads, "dana-ortiz") == (3, 1)
    show(capsys, leads, second)
    assert acks(leads, "dana-ortiz") == (3, 3)


def show(capsys: pytest.CaptureFixture[str], leads: Leads, case: StudentCase) -> None:
    """`keytool show` of the case, named by its id (not found through `list`, which says seen)."""
    ref = cases.case_ref(b64u_decode(case.case_id))
    code, _, err = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert code == 0, err


def test_the_desk_inbox_says_seen_and_its_background_check_does_not(leads: Leads) -> None:
    """The inbox page's form says `seen` for what the page showed, not what came since."""
    leads.post("one")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    app = create_desk(runtime, "127.0.0.1", port, peer_ok=None)  # in-process: no socket
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlocked = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": base})
        assert unlocked.status_code == 303
        wait_until(lambda: runtime.fetches > 0, timeout=30, why=lambda: "no background check")
        assert runtime.checked is not None and runtime.checked.error == ""
        assert acks(leads, "dana-ortiz") == (1, 0)
        page = client.get("/")
        assert page.status_code == 200 and acks(leads, "dana-ortiz") == (1, 0)  # a GET: nothing
        shown = dict(re.findall(r'name="(seen-[a-z0-9-]+)" value="(\d+)"', page.text))
        assert shown == {"seen-lincoln-high": "1"}
        leads.post("two")
        client.post("/check", headers={"origin": base})
        wait_until(lambda: acks(leads, "dana-ortiz")[0] == 2, timeout=30, why=lambda: "no held")
        posted = client.post("/seen", data=shown, headers={"origin": base})
        assert posted.status_code == 303 and posted.headers["location"] == "/?done=seen"
        assert acks(leads, "dana-ortiz") == (2, 1)  # the page showed one message, not two


def test_a_relay_without_acks_is_warned_about_once(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    leads.post("one")
    with old_relay(leads.relay.url) as url:
        code, out, err = run_keytool(
            capsys, "--home", leads.home, "--config", leads.config, "fetch", "--relay", url
        )
        assert code == 0 and "lincoln-high: 1 new" in out
        assert err.count("does not take acknowledgments") == 1
        code, out, err = run_keytool(capsys, "--home", leads.home, "list")
        assert code == 0 and err.count("does not take acknowledgments") == 1
    assert acks(leads, "dana-ortiz") == (0, 0)


def test_stats_count_minutes_from_sent_to_the_first_look(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A report sent 30 minutes ago, fetched by the desk's kind of check, then viewed."""
    sent = datetime.now(UTC) - timedelta(minutes=30)
    leads.open(new_case(leads.deployment, "lincoln-high", "thirty minutes ago", now=sent))
    leads.fetch(capsys)  # held, not seen: no time yet
    out_csv = tmp_path / "stats.csv"
    assert run_keytool(capsys, "--home", leads.home, "stats", "--csv", out_csv)[0] == 0
    month = sent.strftime("%Y-%m")
    row = next(r for r in csv.DictReader(out_csv.read_text().splitlines()) if r["month"] == month)
    assert row["median_minutes_to_first_seen"] == ""
    assert run_keytool(capsys, "--home", leads.home, "list")[0] == 0  # a person looks
    assert run_keytool(capsys, "--home", leads.home, "list")[0] == 0  # again: the first counts
    assert run_keytool(capsys, "--home", leads.home, "stats", "--csv", out_csv)[0] == 0
    row = next(r for r in csv.DictReader(out_csv.read_text().splitlines()) if r["month"] == month)
    assert row["median_minutes_to_first_seen"] in ("30", "31")
    assert row["longest_minutes_to_first_seen"] in ("30", "31")


def test_the_desk_stats_page_shows_minutes_to_the_first_look(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = datetime.now(UTC) - timedelta(minutes=45)
    leads.open(new_case(leads.deployment, "lincoln-high", "forty-five minutes ago", now=sent))
    leads.fetch(capsys)
    assert run_keytool(capsys, "--home", leads.home, "list")[0] == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    app = create_desk(runtime, "127.0.0.1", port, peer_ok=None)
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlocked = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": base})
        assert unlocked.status_code == 303
        page = client.get("/stats")
    assert page.status_code == 200
    assert "Lincoln High School" in page.text and "forty-five" not in page.text
    cells = re.findall(r"<td>([^<]*)</td>", page.text)
    assert "45" in cells or "46" in cells
