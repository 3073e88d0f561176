"""The escalation's state and its outbox of alerts: store jobs, written once for both stores.

A school has at most one open escalation, opened in the transaction that stores a
student's message and deleted in the one that records a `seen` at or past its
cursor. Each step (an alert to a tier) is claimed by a conditional update, so of
several relays sharing a database one takes it, and its alerts are written in the
same transaction: a relay killed after the step still sends them when it starts
again, under the same keys.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # store.py opens escalations with its messages, so it imports this module
    from relay.store import Tx

TRIGGER, RESOLVE = "trigger", "resolve"
RESOLVE_STEP = -1  # the step number of a resolve: one per escalation and channel


@dataclass(frozen=True)
class Opening:
    """A student's message asks for an escalation: the window it came in, and the urgent bit."""

    school: str
    due: int  # the end of the window the message came in (Unix seconds)
    urgent: bool = False


@dataclass(frozen=True)
class Open:
    """An open escalation as stored. tier is -1 until its first step."""

    school: str
    dedup_key: str
    started: int
    cursor: int
    tier: int
    tier_since: int
    next_step: int
    steps: int
    urgent: int  # 0; 1: a student's urgent bit waits to be acted on; 2: started urgent
    urgent_window: int
    paged: str  # ids of the PagerDuty channels triggered, comma-separated


@dataclass(frozen=True)
class Alert:
    dedup_key: str
    step: int
    target: str  # "email:<recipient>", "webhook:<recipient>" or "channel:<id>"
    school: str
    action: str  # TRIGGER or RESOLVE
    waited: int  # minutes, for the text
    at: int  # when the step was due: the Date of its e-mail
    attempts: int = 0


@dataclass(frozen=True)
class Step:
    """What the engine decided for a due escalation: its new state, and the alerts it sends."""

    tier: int
    tier_since: int
    next_step: int
    urgent: int
    urgent_window: int
    paged: str
    alerts: Sequence[Alert]
    climbed_month: str = ""  # the month to count when this step first climbs past tier 1


ESCALATION_COLUMNS = (
    "school, dedup_key, started, cursor, tier, tier_since, next_step, steps, urgent, "
    "urgent_window, paged"
)


def open_escalations(tx: Tx, openings: Sequence[Opening]) -> None:
    """Open each school's escalation, or move an open one's cursor to the school's newest message.

    An urgent bit asks the next step to come at the window's end; the engine acts on
    it at most once a window.
    """
    for o in openings:
        row = tx.one("SELECT last FROM school_seq WHERE school = ?", (o.school,))
        cursor = int(row[0]) if row else 0
        urgent = 1 if o.urgent else 0
        tx.run(
            f"INSERT INTO escalations ({ESCALATION_COLUMNS}) "  # noqa: S608 - our own text
            "VALUES (?, ?, ?, ?, -1, ?, ?, 0, ?, 0, '') ON CONFLICT (school) DO UPDATE SET "
            "cursor = excluded.cursor, "
            "urgent = CASE WHEN excluded.urgent = 1 THEN 1 ELSE escalations.urgent END, "
            "next_step = CASE WHEN excluded.urgent = 1 AND excluded.next_step < "
            "escalations.next_step THEN excluded.next_step ELSE escalations.next_step END",
            (o.school, secrets.token_hex(16), o.due, cursor, o.due, o.due, urgent),
        )


def due_escalations(tx: Tx, now: int) -> list[Open]:
    rows = tx.all(
        f"SELECT {ESCALATION_COLUMNS} FROM escalations "  # noqa: S608 - our own text
        "WHERE next_step <= ? ORDER BY next_step LIMIT 200",
        (now,),
    )
    return [Open(*row) for row in rows]


def take_step(tx: Tx, was: Open, step: Step | None) -> bool:
    """Record a step and its alerts, if no other relay took it first; None closes it."""
    if step is None:
        return (
            tx.run(
                "DELETE FROM escalations WHERE school = ? AND steps = ? AND next_step = ?",
                (was.school, was.steps, was.next_step),
            )
            == 1
        )
    won = tx.run(
        "UPDATE escalations SET tier = ?, tier_since = ?, next_step = ?, steps = steps + 1, "
        "urgent = ?, urgent_window = ?, paged = ? "
        "WHERE school = ? AND steps = ? AND next_step = ?",
        (
            step.tier,
            step.tier_since,
            step.next_step,
            step.urgent,
            step.urgent_window,
            step.paged,
            was.school,
            was.steps,
            was.next_step,
        ),
    )
    if won != 1:
        return False
    _queue(tx, step.alerts)
    if step.climbed_month:
        tx.run(
            "INSERT INTO escalation_months (school, month, climbed) VALUES (?, ?, 1) "
            "ON CONFLICT (school, month) DO UPDATE SET climbed = escalation_months.climbed + 1",
            (was.school, step.climbed_month),
        )
    return True


def settle(tx: Tx, school: str, seen: int, resolve_at: int) -> bool:
    """A `seen` at or past the cursor closes the school's escalation and resolves its pages."""
    row = tx.one(
        "SELECT dedup_key, cursor, paged, started FROM escalations WHERE school = ?", (school,)
    )
    if row is None or seen < int(row[1]):
        return False
    key, paged, started = str(row[0]), str(row[2]), int(row[3])
    tx.run("DELETE FROM escalations WHERE school = ?", (school,))
    tx.run("DELETE FROM alerts WHERE dedup_key = ? AND action = ?", (key, TRIGGER))
    waited = max(0, (resolve_at - started) // 60)
    _queue(
        tx,
        [
            Alert(key, RESOLVE_STEP, f"channel:{c}", school, RESOLVE, waited, resolve_at)
            for c in filter(None, paged.split(","))
        ],
    )
    return True


def _queue(tx: Tx, alerts: Sequence[Alert]) -> None:
    tx.insert(
        "INSERT INTO alerts (dedup_key, step, target, school, action, waited, at, next_try)",
        [(a.dedup_key, a.step, a.target, a.school, a.action, a.waited, a.at, a.at) for a in alerts],
        "ON CONFLICT DO NOTHING",
    )


def claim_alerts(tx: Tx, now: int, delay: Callable[[int], int]) -> list[Alert]:
    """The alerts due now, each claimed (its next try moved on) so that one relay sends it."""
    claimed = []
    rows = tx.all(
        "SELECT dedup_key, step, target, school, action, waited, at, next_try, attempts "
        "FROM alerts WHERE next_try <= ? ORDER BY at LIMIT 200",
        (now,),
    )
    for key, step, target, school, action, waited, at, next_try, attempts in rows:
        tries = int(attempts) + 1
        won = tx.run(
            "UPDATE alerts SET next_try = ?, attempts = ? "
            "WHERE dedup_key = ? AND step = ? AND target = ? AND next_try = ?",
            (now + delay(tries), tries, key, step, target, next_try),
        )
        if won == 1:
            claimed.append(
                Alert(key, int(step), target, school, action, int(waited), int(at), tries)
            )
    return claimed


def finish_alert(tx: Tx, alert: Alert) -> None:
    tx.run(
        "DELETE FROM alerts WHERE dedup_key = ? AND step = ? AND target = ?",
        (alert.dedup_key, alert.step, alert.target),
    )


def alert_facts(tx: Tx) -> tuple[int, list[str]]:
    """Alerts waiting, and the targets' kinds of those that failed at least once."""
    row = tx.one("SELECT COUNT(*) FROM alerts")
    failing = tx.all("SELECT DISTINCT target FROM alerts WHERE attempts > 1")
    kinds = {
        str(t[0]) if str(t[0]).startswith("channel:") else str(t[0]).split(":")[0] for t in failing
    }
    return (int(row[0]) if row else 0), sorted(kinds)


def climbed(tx: Tx, school: str) -> dict[str, int]:
    """Escalations of a school that climbed past its first tier, by month (YYYY-MM)."""
    rows = tx.all(
        "SELECT month, climbed FROM escalation_months WHERE school = ? ORDER BY month", (school,)
    )
    return {str(m): int(c) for m, c in rows}
