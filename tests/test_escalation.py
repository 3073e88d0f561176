"""The escalation ladder end to end: the real relay, key tool and desk, on both stores.

A real SMTP server (aiosmtpd) and a real HTTP receiver on loopback stand in for
the staff's mail, an SMS gateway and PagerDuty. The notice window is 3 seconds
and every wait a few windows, so a whole ladder climbs in under a minute.
"""

from __future__ import annotations

import csv
import re
import signal
import time
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime
from quietdoor.config import dump_config, load_config
from relay.escalation_store import climbed
from relay.stores import open_store

from .support.deployments import with_keys_of
from .support.envelopes import new_case
from .support.keytool import PASS, init_keytool, run_keytool
from .support.ladders import ENV, escalation_open, ladder_text
from .support.mail import DANA_EMAIL, Mailbox
from .support.processes import free_port, start_relay, stop_relay, wait_until
from .support.receiver import Receiver, receiver

SCALE = 300  # 15 minutes become 3 seconds
ON_CALL = ("ana@riverside.example", "ben@riverside.example")  # the rota in .support.ladders


def fast_ladder(
    tmp_path: Path, hooks: str, content_type: str, smtp_port: int, homes: dict[str, Path]
) -> Path:
    """The test ladder at 1/300 of its speed, always in read hours, with the key tools' keys."""
    text = ladder_text(f"{hooks}", content_type, smtp_port)
    text = re.sub(
        r"^(wait|wait_outside|realert|window_minutes) = (\d+)$",
        lambda m: f"{m[1]} = {int(m[2]) / SCALE:g}",
        text,
        flags=re.M,
    )
    text = text.replace('read_hours = "mon-fri 07:30-16:30"', 'read_hours = "always"')
    text = text.replace("[relay]\n", "[relay]\nproof_of_work = false\naddress_per_minute = 0\n")
    path = tmp_path / "fast-ladder.toml"
    path.write_text(text, encoding="utf-8")
    path.write_text(dump_config(with_keys_of(load_config(path), homes)), encoding="utf-8")
    return path


def on_call_mails(box: Mailbox) -> list[tuple[str, str, str, str]]:
    """Alert e-mails to the rota's people (Ana on weekdays, Ben at weekends)."""
    return [m for m in alert_mails(box) if m[0] in ON_CALL]


def alert_mails(box: Mailbox) -> list[tuple[str, str, str, str]]:
    """(to, Message-ID, Date, body) of each alert e-mail (not the notices)."""
    out = []
    for to, raw in list(box.messages):
        mail = message_from_bytes(raw)
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes)
        text = body.decode().strip()
        assert mail["Message-ID"] and mail["Date"]  # every e-mail, notices too
        if "has waited" in text:
            out.append((to[0], str(mail["Message-ID"]), str(mail["Date"]), text))
    return out


@pytest.mark.parametrize(
    ("store_kind", "content_type"),
    [("sqlite", "json"), pytest.param("postgres", "form", marks=pytest.mark.postgres)],
)
def test_a_report_no_one_looks_at_climbs_until_the_key_tool_shows_it(
    tmp_path: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    store_kind: str,
    content_type: str,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    store_url = (
        f"sqlite:///{tmp_path / 'relay.db'}"
        if store_kind == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    marcus = tmp_path / "marcus"
    init_keytool(capsys, marcus, "marcus-lee", "Marcus Lee")
    with Mailbox() as box, receiver() as hooks:
        config = fast_ladder(
            tmp_path, hooks.url, content_type, box.port, {"dana-ortiz": home, "marcus-lee": marcus}
        )
        deployment = load_config(config)
        relay = start_relay(config, store_url, tmp_path)
        try:
            case = new_case(deployment, "lincoln-high", "secret words")
            posted = time.monotonic()
            assert httpx.post(relay.url + "/api/v1/cases", json=case.body).status_code == 201
            # Tier 2 reaches the person on call by SMS and by e-mail (which may land later).
            wait_until(lambda: hooks.to("/sms") and on_call_mails(box), timeout=40, why=relay.log)
            # Killed mid-ladder, between tiers 2 and 3: the next relay carries on.
            relay.process.send_signal(signal.SIGKILL)
            relay.process.wait()
            relay = start_relay(config, store_url, tmp_path)
            wait_until(lambda: triggers(hooks), timeout=40, why=relay.log)
            tiers = {
                "1 (re-alert to the school's recipients)": first(box, DANA_EMAIL),
                "2 (on call: e-mail and SMS)": hooks.to("/sms")[0].at,
                "3 (PagerDuty)": triggers(hooks)[0].at,
            }
            with capsys.disabled():  # the measured times, for the record
                for tier, at in tiers.items():
                    print(f"\ntier {tier}: {at - posted:.1f} s after the report", end="")
            assert list(tiers.values()) == sorted(tiers.values())

            # The desk's background check fetches (`held`), and the ladder goes on.
            desk_checks_and_the_ladder_goes_on(home, config, relay.url, store_url)
            assert escalation_open(store_url)
            code, _, err = run_keytool(
                capsys, "--home", home, "--config", config, "fetch", "--relay", relay.url
            )
            assert code == 0, err
            assert escalation_open(store_url)  # `held` is not `seen`
            # Dana views the inbox: `seen` closes the escalation and resolves the incident.
            code, _, err = run_keytool(capsys, "--home", home, "list")
            assert code == 0 and err == ""
            assert not escalation_open(store_url)
            wait_until(lambda: resolves(hooks), timeout=20, why=relay.log)
            # The lead's numbers: one escalation past the first tier, read from the relay.
            out_csv = tmp_path / "stats.csv"
            code, _, err = run_keytool(capsys, "--home", home, "stats", "--csv", out_csv)
            assert code == 0 and err.startswith("keytool: fetched 0 new messages"), err
            month = datetime.now(ZoneInfo("America/Los_Angeles")).strftime("%Y-%m")
            rows = csv.DictReader(out_csv.read_text().splitlines())
            row = next(r for r in rows if r["month"] == month)
            assert row["escalations_past_first_tier"] == "1"
            assert row["median_minutes_to_first_seen"] in ("0", "1")
        finally:
            stop_relay(relay)
        check_what_was_sent(hooks, box, content_type, case.case_id)
        store = open_store(store_url)
        try:
            assert sum(store.read(climbed, "lincoln-high").values()) == 1
        finally:
            store.close()


def desk_checks_and_the_ladder_goes_on(
    home: Path, config: Path, relay_url: str, store_url: str
) -> None:
    runtime = DeskRuntime(home, config=str(config), relay=relay_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_desk(runtime, "127.0.0.1", port, peer_ok=None)  # in-process: no socket
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlocked = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": base})
        assert unlocked.status_code == 303
        wait_until(lambda: runtime.fetches > 0, timeout=30, why=lambda: "no background check")
        assert runtime.checked is not None and runtime.checked.error == ""
    assert escalation_open(store_url)


def triggers(hooks: Receiver) -> list:  # type: ignore[type-arg]
    return [p for p in hooks.to("/pagerduty") if p.body["event_action"] == "trigger"]


def resolves(hooks: Receiver) -> list:  # type: ignore[type-arg]
    return [p for p in hooks.to("/pagerduty") if p.body["event_action"] == "resolve"]


def first(box: Mailbox, to: str) -> float:
    """When the first alert e-mail to this address arrived."""
    return next(
        at
        for at, (rcpt, raw) in zip(box.times, box.messages, strict=True)
        if to in rcpt and b"has waited" in raw
    )


def check_what_was_sent(hooks: Receiver, box: Mailbox, content_type: str, case_id: str) -> None:
    (resolve,) = resolves(hooks)
    keys = {p.body["dedup_key"] for p in hooks.to("/pagerduty")}
    assert len(keys) == 1 and re.fullmatch(r"[0-9a-f]{32}", keys.pop())
    for p in triggers(hooks):
        assert p.body["routing_key"] == ENV["QD_TEST_ROUTING_KEY"]
        assert set(p.body) == {"routing_key", "event_action", "dedup_key", "payload"}
        payload = p.body["payload"]
        assert payload["severity"] == "critical" and payload["source"]
        assert payload["summary"] == (
            "A new message for Lincoln High School has waited 0 minutes. Open your desk."
        )
    assert set(resolve.body) == {"routing_key", "event_action", "dedup_key"}
    for p in hooks.to("/sms"):
        assert p.headers["authorization"] == ENV["QD_TEST_SMS_TOKEN"]
        kind = "application/json" if content_type == "json" else "application/x-www-form-urlencoded"
        assert p.headers["content-type"] == kind
        assert p.body == {
            "to": "+15550100",
            "text": "Quiet Door: Lincoln High School has waited 0 minutes.",
        }
    assert {to for to, *_ in alert_mails(box)} >= {DANA_EMAIL}
    assert on_call_mails(box)
    everything = repr(hooks.posts) + repr(box.messages)
    assert "secret" not in everything and case_id not in everything


@pytest.mark.postgres
def test_two_relays_on_one_postgresql_send_each_alert_once(
    tmp_path: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    marcus = tmp_path / "marcus"
    init_keytool(capsys, marcus, "marcus-lee", "Marcus Lee")
    with Mailbox() as box, receiver() as hooks:
        config = fast_ladder(
            tmp_path, hooks.url, "json", box.port, {"dana-ortiz": home, "marcus-lee": marcus}
        )
        relays = [start_relay(config, postgres_url, tmp_path) for _ in range(2)]
        try:
            case = new_case(load_config(config), "lincoln-high", "secret words")
            answer = httpx.post(relays[0].url + "/api/v1/cases", json=case.body)
            assert answer.status_code == 201
            wait_until(lambda: len(triggers(hooks)) >= 2, timeout=60, why=relays[1].log)
        finally:
            for relay in relays:
                stop_relay(relay)
    # Tier 1 re-alerts Dana three times, tier 2 alerts twice (each window of its wait).
    ids = [mid for to, mid, _date, _ in alert_mails(box) if to == DANA_EMAIL]
    assert len(ids) == len(set(ids)) == 3
    assert len(hooks.to("/sms")) == 2
    steps = [p.at for p in triggers(hooks)]
    assert all(b - a > 2 for a, b in zip(steps, steps[1:], strict=False))  # a window apart
