"""The key tool's acknowledgments, end to end with the real relay: `held` and `seen`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime
from keytool.inbox import Inbox
from relay.directory import Directory
from relay.retention import sweep
from relay.stores import open_store

from .support.keytool import PASS, Leads, case_ref, run_keytool
from .support.old_relay import old_relay
from .support.processes import free_port, wait_until
from .support.stores import run_on_own_loop

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
    store = open_store(f"sqlite:///{leads.relay.db_path}")
    try:
        on = datetime.now(UTC).date() + timedelta(days=90)
        readers = Directory(leads.deployment).every_school_readers()
        return run_on_own_loop(sweep(store, 90, on, int(time.time()), readers))
    finally:
        store.close()


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


def test_a_cursor_beyond_what_was_served_deletes_nothing_unread(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    case = leads.post("never read")
    for home in (leads.home, leads.colleague):  # as a forged inbox backup would leave them
        with Inbox(home) as inbox, inbox.db:
            inbox.db.execute(
                "INSERT INTO cursors (relay, school, after) VALUES (?, 'lincoln-high', 5)",
                (leads.relay.url,),
            )
        leads.fetch(capsys, home)
    assert acks(leads, "dana-ortiz") == (0, 0)
    assert swept_in_90_days(leads) == 0
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


def test_the_desk_inbox_says_seen_and_its_background_check_does_not(leads: Leads) -> None:
    leads.post("one")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with TestClient(create_desk(runtime, port), base_url=base, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlocked = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": base})
        assert unlocked.status_code == 303
        wait_until(lambda: runtime.fetches > 0, timeout=30, why=lambda: "no background check")
        assert runtime.checked is not None and runtime.checked.error == ""
        assert acks(leads, "dana-ortiz") == (1, 0)
        assert client.get("/").status_code == 200
        assert acks(leads, "dana-ortiz") == (1, 1)


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
