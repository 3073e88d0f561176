"""The ladder's steps, run against the real store with the time given by the test.

The relay's engine asks the store for due escalations and takes each step in a
transaction; here the test picks `now`, so hours of a ladder run in milliseconds,
on any day of the year (read hours, a closure, a change of daylight-saving time).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from quietdoor.config import Deployment, load_config
from relay.alerts import Alerter, send_alerts, step_due
from relay.app import create_app
from relay.cli import main as relay_main
from relay.escalate import Planner
from relay.escalation_store import (
    Opening,
    claim_alerts,
    climbed,
    due_escalations,
    finish_alert,
    settle,
    take_step,
)
from relay.metrics import Metrics
from relay.notify import Notifier, retry_delay
from relay.store import NewMessage, SQLStore, Tx, Write, delete_expired

from .support.deployments import make_deployment
from .support.envelopes import new_case
from .support.ladders import ENV, ladder_text, write_ladder
from .support.mail import Mailbox
from .support.processes import free_port
from .support.receiver import receiver
from .support.relay_api import signed_headers
from .support.stores import open_at_once, run_on_own_loop


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def report(store: SQLStore, planner: Planner, school: str, at: int, urgent: bool = False) -> None:
    """A student's new message at `at`: stored with the escalation it opens."""
    message = NewMessage(
        school=school,
        case_id=None,
        author="student",
        nonce=f"n{at}{urgent}",
        body="{}",
        day="2026-12-04",
    )
    store.keep_now(Write(message, None, escalation=Opening(school, planner.window_end(at), urgent)))


def run_ladder(
    store: SQLStore, planner: Planner, start: int, until_minutes: int
) -> list[tuple[int, str]]:
    """(minutes after the report's window ended, target) of each alert, stepping when due."""
    sent: list[tuple[int, str]] = []
    first = planner.window_end(start)
    while True:
        due = store.read(due_escalations, 2**62)
        if not due or due[0].next_step > first + until_minutes * 60:
            return sent
        now = due[0].next_step
        assert run_on_own_loop(step_due(planner, store, now)) == 1
        for alert in store.call("", claim_alerts, now, retry_delay):
            sent.append(((alert.at - first) // 60, alert.target))
            store.call("", finish_alert, alert)  # delivered


@pytest.fixture
def planner(tmp_path: Path) -> Planner:
    return Planner(load_config(write_ladder(tmp_path)))


def test_with_no_one_looking_the_ladder_climbs_in_read_hours(
    store: SQLStore, planner: Planner
) -> None:
    start = utc("2026-12-03T10:02:00-08:00")  # a Thursday morning in Los Angeles
    report(store, planner, "lincoln-high", start)
    sent = run_ladder(store, planner, start, until_minutes=120)
    # Marcus, the district lead, has no e-mail; Ben Cho, a district reader on call only at
    # weekends, is one of the school's readers on a Thursday; Ana Wu, on call, is not.
    school = ["email:dana-ortiz", "email:ben-cho"]
    assert sent == [
        *[(m, who) for m in (15, 30, 45) for who in school],  # tier 1 re-alerted (its notice at 0)
        (60, "email:ana-wu"),  # on call on weekdays, after tier 1's 60 minutes
        (60, "channel:sms"),
        (75, "email:ana-wu"),
        (75, "channel:sms"),
        (90, "channel:pager"),  # tier 3 after tier 2's 30 minutes; Ruth has no e-mail
        (105, "channel:pager"),
        (120, "channel:pager"),
    ]
    assert store.read(climbed, "lincoln-high") == {"2026-12": 1}


@pytest.mark.parametrize(
    ("when", "extra"),
    [
        ("2026-12-04T19:00:00-08:00", ""),  # Friday evening, after read hours
        (
            "2026-12-14T10:00:00-08:00",  # a Monday morning the district is closed
            'closures = ["2026-12-14"]',
        ),
    ],
    ids=["after-hours", "closure-day"],
)
def test_outside_read_hours_and_on_a_closure_day_the_short_waits_apply(
    tmp_path: Path, store: SQLStore, when: str, extra: str
) -> None:
    text = ladder_text().replace(
        'name = "Riverside Unified School District"',
        f'name = "Riverside Unified School District"\n{extra}',
    )
    planner = Planner(load_config(write_ladder(tmp_path, text)))
    report(store, planner, "lincoln-high", utc(when))
    sent = run_ladder(store, planner, utc(when), until_minutes=15)
    # No re-alert of tier 1: its 15-minute wait ends when its re-alert would come.
    assert [m for m, _ in sent] == [15, 15] and sent[0][1] in ("email:ana-wu", "email:ben-cho")


@pytest.mark.parametrize(
    ("when", "on_call"),
    [
        ("2027-03-14T09:30:00+00:00", "ana-wu"),  # 01:30 PST, before clocks go forward
        ("2027-03-14T10:30:00+00:00", "ben-cho"),  # 03:30 PDT (02:30 had it stayed PST)
        ("2027-11-07T08:30:00+00:00", "ana-wu"),  # 01:30 PDT, the first 01:30 that night
        ("2027-11-07T09:30:00+00:00", "ana-wu"),  # 01:30 PST, the second (02:30 in PDT)
        ("2027-11-07T10:30:00+00:00", "ben-cho"),  # 02:30 PST
    ],
)
def test_the_rota_picks_by_local_day_and_hour_across_daylight_saving(
    tmp_path: Path, when: str, on_call: str
) -> None:
    text = ladder_text().replace(
        '{ recipient = "ben-cho", hours = "sat-sun 00:00-24:00" },',
        '{ recipient = "ben-cho", hours = "sat 00:00-24:00" },\n'
        '  { recipient = "ana-wu", hours = "sun 00:00-03:00" },\n'
        '  { recipient = "ben-cho", hours = "sun 03:00-24:00" },',
    )
    if "11-07" in when:  # in November the hour from 01:00 to 02:00 comes twice
        text = text.replace('"sun 00:00-03:00"', '"sun 00:00-02:00"').replace(
            '"sun 03:00-24:00"', '"sun 02:00-24:00"'
        )
    d = load_config(write_ladder(tmp_path, text))
    planner = Planner(d)
    ladder = d.escalation.ladder_for("lincoln-high", "riverside-unified")
    assert ladder is not None
    assert list(planner.people("lincoln-high", ladder.tiers[1], utc(when))) == [on_call]


@pytest.mark.parametrize(
    ("when", "school_tier"),
    [
        # A Thursday: Ana Wu is on call, Dana Ortiz is not; Ben Cho is on no tier now.
        ("2026-12-03T10:00:00-08:00", ["dana-ortiz", "ben-cho"]),
        # A Saturday: the rota reaches Dana, not tier 1; Ana is off call, a reader again.
        ("2026-12-05T10:00:00-08:00", ["ana-wu", "ben-cho"]),
    ],
    ids=["weekday", "weekend"],
)
def test_a_lead_on_the_weekend_rota_is_left_out_of_the_school_tier_only_when_on_call(
    tmp_path: Path, when: str, school_tier: list[str]
) -> None:
    """Marcus Lee, the 24/7 tier, is never in the school's tier; a rota's people are left
    out of it only while they are on call (Dana Ortiz gets tier 1's re-alerts on weekdays)."""
    old = '{ recipient = "ben-cho", hours = "sat-sun 00:00-24:00" }'
    assert old in ladder_text()
    text = ladder_text().replace(old, old.replace("ben-cho", "dana-ortiz"))
    planner = Planner(load_config(write_ladder(tmp_path, text)))
    ladder = planner.ladder("lincoln-high")
    assert ladder is not None
    assert list(planner.people("lincoln-high", ladder.tiers[0], utc(when))) == school_tier


def test_a_seen_closes_the_escalation_and_resolves_what_was_paged(
    store: SQLStore, planner: Planner
) -> None:
    start = utc("2026-12-05T02:00:00-08:00")  # Saturday night
    report(store, planner, "lincoln-high", start)
    sent = run_ladder(store, planner, start, until_minutes=45)
    assert (45, "channel:pager") in sent
    (open_,) = store.read(due_escalations, 2**62)
    assert not store.call("lincoln-high", settle, "lincoln-high", open_.cursor - 1, 0)
    assert store.call("lincoln-high", settle, "lincoln-high", open_.cursor, start + 3600)
    assert store.read(due_escalations, 2**62) == []
    (resolve,) = store.call("", claim_alerts, start + 3600, retry_delay)
    assert (resolve.action, resolve.target, resolve.dedup_key) == (
        "resolve",
        "channel:pager",
        open_.dedup_key,
    )


def test_an_urgent_bit_starts_on_call_once_a_window(store: SQLStore, tmp_path: Path) -> None:
    d: Deployment = load_config(write_ladder(tmp_path))
    planner = Planner(d)
    start = utc("2026-12-03T10:02:00-08:00")
    for k in range(5):  # junk carrying the bit, all in one window
        report(store, planner, "lincoln-high", start + k, urgent=True)
    sent = run_ladder(store, planner, start, until_minutes=30)
    assert sent[:2] == [(0, "email:ana-wu"), (0, "channel:sms")]  # at the window's end
    assert [m for m, _ in sent].count(0) == 2
    # Short waits: tier 3 after tier 2's 30 minutes outside-hours wait, not more.
    assert (30, "channel:pager") in sent


def test_of_two_relays_that_saw_a_step_due_only_one_takes_it(
    store_url: str, planner: Planner
) -> None:
    first, second = open_at_once(store_url, 2)
    try:
        start = utc("2026-12-03T10:02:00-08:00")
        report(first, planner, "lincoln-high", start)
        (was,) = first.read(due_escalations, 2**62)
        assert second.read(due_escalations, 2**62) == [was]  # both saw it due
        step = planner.plan(was, was.next_step)
        assert first.call("lincoln-high", take_step, was, step)
        assert not second.call("lincoln-high", take_step, was, step)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("urgent_hint", "header", "urgent"),
    [("true", "1", 1), ("true", "", 0), ("false", "1", 0)],
    ids=["opted-in", "no-bit", "not-opted-in"],
)
def test_the_relay_takes_the_urgent_bit_only_when_the_deployment_opts_in(
    tmp_path: Path,
    store: SQLStore,
    monkeypatch: pytest.MonkeyPatch,
    urgent_hint: str,
    header: str,
    urgent: int,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    opt = f"[escalation]\nurgent_hint = {urgent_hint}\n\n[[escalation.channels]]"
    text = ladder_text().replace("[[escalation.channels]]", opt, 1)
    text = text.replace("[relay]\n", "[relay]\nproof_of_work = false\naddress_per_minute = 0\n")
    d = load_config(write_ladder(tmp_path, text))
    case = new_case(d, "lincoln-high", "not safe now", safe_now="no")
    with TestClient(create_app(d, store), base_url="https://relay.riverside.example") as client:
        headers = {"x-qd-urgent": header} if header else {}
        answer = client.post("/api/v1/cases", json=case.body, headers=headers)
        assert answer.status_code == 201, answer.text
    (opened,) = store.read(due_escalations, 2**62)
    assert opened.urgent == urgent


@pytest.mark.parametrize("missing", sorted(ENV))
def test_a_channel_secret_missing_from_the_environment_stops_the_relay_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    config = write_ladder(tmp_path)
    store = f"sqlite:///{tmp_path / 'relay.db'}"
    assert relay_main(["--config", str(config), "--store", store]) == 2
    err = capsys.readouterr().err
    assert err.startswith("relay: [[escalation.channels]]") and f"env:{missing}" in err
    assert "Traceback" not in err


def test_a_recipient_reads_the_schools_climbed_escalations_by_month(
    tmp_path: Path, store: SQLStore
) -> None:
    td = make_deployment(tmp_path, base_url="http://127.0.0.1:8000")
    store.call(
        "",
        lambda tx: tx.run(
            "INSERT INTO escalation_months (school, month, climbed) VALUES "
            "('lincoln-high', '2026-11', 2), ('lincoln-high', '2026-12', 1), "
            "('cedar-valley-high', '2026-12', 5)"
        ),
    )
    path = "/api/v1/schools/lincoln-high/escalations"
    with TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000") as client:
        dana = client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path))
        assert dana.status_code == 200
        assert dana.json() == {"climbed": {"2026-11": 2, "2026-12": 1}}
        ruth = client.get(path, headers=signed_headers(td.keys["ruth-nakamura"].signing, path))
        assert ruth.status_code == 403 and "error" in ruth.json()
        assert client.get(path).status_code == 401


def test_climbed_months_older_than_thirteen_are_pruned(store: SQLStore) -> None:
    """The sweep keeps this month and the twelve before it, for `keytool stats`."""

    def plant(tx: Tx) -> None:
        for month in ("2025-11", "2025-12", "2026-12"):
            tx.run(
                "INSERT INTO escalation_months (school, month, climbed) VALUES (?, ?, 2)",
                ("lincoln-high", month),
            )

    store.call("", plant)
    assert store.read(climbed, "lincoln-high") == {"2025-11": 2, "2025-12": 2, "2026-12": 2}
    store.call("", delete_expired, "2026-09-07", utc("2026-12-06T12:00:00Z"), {}, "2026-12-06")
    assert store.read(climbed, "lincoln-high") == {"2025-12": 2, "2026-12": 2}


def prometheus_values(text: str) -> dict[str, float]:
    """The samples of a /metrics answer without labels, by name."""
    families = text_string_to_metric_families(text)
    return {s.name: s.value for f in families for s in f.samples if not s.labels}


def at_tier_3(
    tmp_path: Path, store: SQLStore, channels: str, smtp_port: int
) -> tuple[Alerter, int]:
    """The test ladder's alerter (its channels at that URL), and the time a report made at
    night has climbed to tier 3, whose alert goes to the pager; the alerts wait unsent."""
    planner = Planner(
        load_config(write_ladder(tmp_path, ladder_text(channels, smtp_port=smtp_port)))
    )
    alerter = Alerter(planner, Notifier(planner.deployment))
    start = utc("2026-12-05T02:00:00-08:00")
    report(store, planner, "lincoln-high", start)
    now = planner.window_end(start)
    for _ in range(4):  # to tier 3, whose alert goes to the pager
        (due,) = store.read(due_escalations, 2**62)
        now = due.next_step
        run_on_own_loop(step_due(planner, store, now))
    return alerter, now


def test_a_failing_channel_is_retried_later_never_blocks_another_and_shows_in_healthz(
    tmp_path: Path, store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with Mailbox() as box:
        # PagerDuty and the SMS gateway are a closed port: those channels fail; e-mail goes.
        closed = f"http://127.0.0.1:{free_port()}"
        alerter, now = at_tier_3(tmp_path, store, closed, box.port)
        d = alerter.planner.deployment
        metrics = Metrics()
        sent = run_on_own_loop(send_alerts(alerter, store, now, metrics))
        assert sent == len(box.messages) > 0  # e-mail went, though the channels failed
        assert store.call("", claim_alerts, now, retry_delay) == []  # not again at once
        left = store.call("", claim_alerts, now + retry_delay(1), retry_delay)  # but later
        assert {a.target for a in left} == {"channel:pager", "channel:sms"}
        assert {a.attempts for a in left} == {2}
    # At the test's time, so the relay's own rounds find nothing due and count nothing more.
    app = create_app(d, store, clock=lambda: now, metrics=metrics)
    with TestClient(app, base_url="https://relay.riverside.example") as client:
        health = client.get("/healthz").json()
        counted = prometheus_values(client.get("/metrics").text)
    assert counted["quietdoor_relay_alerts_sent_total"] == sent
    # each alert to the pager and the SMS gateway failed once, and waits to be tried again
    assert counted["quietdoor_relay_alerts_failed_total"] == len(left) == 3
    assert counted["quietdoor_relay_alerts_waiting"] == len(left)
    assert health["status"] == "warning"
    assert health["checks"]["alerts"].endswith(
        "escalation alerts waiting; delivery failed and is retried for: "
        "channel:pager, channel:sms; check the mail server and those channels"
    )


def test_a_slow_channel_gets_one_alert_per_step_and_never_holds_up_the_store(
    tmp_path: Path, store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    release = threading.Event()
    with Mailbox() as box, receiver(hold=release) as channels:
        alerter, now = at_tier_3(tmp_path, store, channels.url, box.port)
        waiting = store.read(lambda tx: [str(t) for (t,) in tx.all("SELECT target FROM alerts")])
        assert {"channel:pager", "channel:sms"} <= set(waiting)

        async def rounds() -> int:
            # One thread for the store's writes: a held send must not be the one holding it.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
            await send_alerts(alerter, store, now, Metrics(), timeout=0.2)
            # The channels still hold their requests when the claims come round again.
            later = send_alerts(alerter, store, now + retry_delay(1), Metrics(), 0.2)
            again = await asyncio.wait_for(later, timeout=30)
            release.set()
            await asyncio.wait(list(alerter.sending.values()))
            return again

        assert run_on_own_loop(rounds()) == 0
        # One request per alert waiting, though every claim came round while it was held.
        assert len(channels.to("/pagerduty")) == waiting.count("channel:pager")
        assert len(channels.to("/sms")) == waiting.count("channel:sms")
        assert len(box.messages) == sum(t.startswith("email:") for t in waiting)
        assert alerter.sending == {}
        # Each slow send was recorded when it ended: nothing is left to send later.
        assert store.call("", claim_alerts, now + 86_400, retry_delay) == []
