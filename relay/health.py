"""GET /healthz: is this relay fit to take reports, and does anything need a person?

Failing (503, so a load balancer stops sending here): the store cannot be
reached, or its schema is not the one this relay knows (migrations not run, or
run by a newer relay). Warnings (200, for the operator): notices that have
waited over an hour (is the mail server or webhook reachable?), escalation alerts
whose delivery failed at least once (named by channel, never by school), and messages a
recipient does not hold though they are older than the retention period
(they are kept: what a current recipient does not hold is never deleted), and
each current recipient who has sent no `held` acknowledgment for HELD_DAYS days
(or never, once their school has a message older than that): the answer names
that recipient's id and school, so the operator can rotate or remove them (a lost
laptop must not keep a school's data forever), and each school at NEAR_FULL of its
storage budget or more: at the budget its students' new reports are refused and its
page shows only the hotline (a flood, most likely), until the operator raises the
budget. It names no case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from relay.escalation_store import alert_facts
from relay.retention import cutoff_day
from relay.store import (
    MIGRATIONS,
    SQLStore,
    Tx,
    ack_facts,
    oldest_notice_due,
    pending_notices,
    schema_version,
    unfetched_since,
)

STUCK_SECONDS = 3600
NEAR_FULL = 0.9  # of a school's storage budget: warn before the door closes
HELD_DAYS = 30
NAMED_AT_MOST = 20  # silent recipients named in the answer; the rest are counted


def _facts(tx: Tx, cutoff: str) -> tuple[int, int, int | None, int, tuple[int, list[str]]]:
    return (
        schema_version(tx),
        pending_notices(tx),
        oldest_notice_due(tx),
        unfetched_since(tx, cutoff),
        alert_facts(tx),
    )


def near_budget(tx: Tx, budget: int) -> list[tuple[str, int]]:
    """(school, stored bytes) of each school at NEAR_FULL of the budget or more."""
    rows = tx.all(
        "SELECT school, bytes FROM school_bytes WHERE bytes >= ? ORDER BY school",
        (int(budget * NEAR_FULL),),
    )
    return [(str(school), int(stored)) for school, stored in rows]


def silent_recipients(
    tx: Tx, readers: Mapping[str, Sequence[str]], today: date
) -> list[tuple[str, str]]:
    """(recipient id, school) of each current recipient with no `held` for HELD_DAYS days."""
    since = (today - timedelta(days=HELD_DAYS)).isoformat()
    held, oldest = ack_facts(tx)
    silent = []
    for school, ids in sorted(readers.items()):
        for reader in ids:
            day = held.get((school, reader))
            if (day is not None and day < since) or (
                day is None and school in oldest and oldest[school] < since
            ):
                silent.append((reader, school))
    return silent


async def health(
    store: SQLStore,
    retention_days: int,
    now: float,
    readers: Mapping[str, Sequence[str]],
    budget: int,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer) for /healthz; readers: each school's current recipients;
    budget: the bytes each school may store for students."""
    checks: dict[str, str] = {}
    try:
        today = datetime.fromtimestamp(now, UTC).date()
        version, pending, oldest, unfetched, (alerts, stuck) = await store.aread(
            _facts, cutoff_day(today, retention_days)
        )
        silent = await store.aread(silent_recipients, readers, today)
        filling = await store.aread(near_budget, budget)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the store is not usable
        checks["store"] = f"failing: cannot read the database ({type(exc).__name__})"
        return 503, {"status": "failing", "checks": checks}
    checks["store"] = "ok"
    failing = warning = False
    if version == len(MIGRATIONS):
        checks["migrations"] = "ok"
    else:
        failing = True
        checks["migrations"] = (
            f"failing: the database is at schema version {version}, this relay knows "
            f"{len(MIGRATIONS)}; "
            + ("restart the relay to migrate" if version < len(MIGRATIONS) else "upgrade it")
        )
    if oldest is not None and now - oldest > STUCK_SECONDS:
        warning = True
        hours = int((now - oldest) // 3600)
        checks["notices"] = (
            f"warning: {pending} notices waiting, the oldest for {hours} h or more; "
            "check the mail server and webhooks"
        )
    else:
        checks["notices"] = f"ok ({pending} waiting)"
    if stuck:
        warning = True
        checks["alerts"] = (
            f"warning: {alerts} escalation alerts waiting; delivery failed and is retried "
            f"for: {', '.join(stuck)}; check the mail server and those channels"
        )
    else:
        checks["alerts"] = f"ok ({alerts} waiting)"
    if unfetched:
        warning = True
        checks["retention"] = (
            f"warning: {unfetched} messages older than {retention_days} days are not "
            "fetched by every recipient yet; they are kept until they are"
        )
    else:
        checks["retention"] = "ok"
    if silent:
        warning = True
        named = ", ".join(f"{r} ({school})" for r, school in silent[:NAMED_AT_MOST])
        more = len(silent) - NAMED_AT_MOST
        checks["acknowledgments"] = (
            f"warning: no 'held' acknowledgment for {HELD_DAYS} days from {named}"
            + (f" and {more} more" if more > 0 else "")
            + "; their school's messages are kept for them: rotate or remove them"
        )
    else:
        checks["acknowledgments"] = "ok"
    if filling:
        warning = True
        named = ", ".join(
            f"{school} ({round(stored * 100 / budget)}%)"
            for school, stored in filling[:NAMED_AT_MOST]
        )
        more = len(filling) - NAMED_AT_MOST
        checks["budget"] = (
            f"warning: at {int(NEAR_FULL * 100)}% of the storage budget or more: {named}"
            + (f" and {more} more" if more > 0 else "")
            + "; at 100% a school's new reports are refused and its page shows only the "
            "hotline: raise [relay] school_budget_bytes (docs/DEPLOYMENT.md)"
        )
    else:
        checks["budget"] = "ok"
    status = "failing" if failing else "warning" if warning else "ok"
    return (503 if failing else 200), {"status": status, "checks": checks}
