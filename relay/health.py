"""GET /healthz: is this relay fit to take reports, and does anything need a person?

Failing (503, so a load balancer stops sending here): the store cannot be
reached, or its schema is not the one this relay knows (migrations not run, or
run by a newer relay). Warnings (200, for the operator): notices that have
waited over an hour (is the mail server or webhook reachable?), and messages a
recipient has not fetched though they are older than the retention period
(they are kept: what nobody fetched is never deleted). The answer holds counts
only, never a school or a case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from relay.retention import cutoff_day
from relay.store import (
    MIGRATIONS,
    SQLStore,
    Tx,
    oldest_notice_due,
    pending_notices,
    schema_version,
    unfetched_since,
)

STUCK_SECONDS = 3600


def _facts(tx: Tx, cutoff: str) -> tuple[int, int, int | None, int]:
    return (
        schema_version(tx),
        pending_notices(tx),
        oldest_notice_due(tx),
        unfetched_since(tx, cutoff),
    )


async def health(store: SQLStore, retention_days: int, now: float) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer) for /healthz."""
    checks: dict[str, str] = {}
    try:
        today = datetime.fromtimestamp(now, UTC).date()
        version, pending, oldest, unfetched = await store.aread(
            _facts, cutoff_day(today, retention_days)
        )
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
    if unfetched:
        warning = True
        checks["retention"] = (
            f"warning: {unfetched} messages older than {retention_days} days are not "
            "fetched by every recipient yet; they are kept until they are"
        )
    else:
        checks["retention"] = "ok"
    status = "failing" if failing else "warning" if warning else "ok"
    return (503 if failing else 200), {"status": status, "checks": checks}
