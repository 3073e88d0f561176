"""Retention: ciphertext stays only as long as it must, then goes for good.

A conversation is deleted `[relay] retention_days` (default 90) after the later
of its last message and the day every current recipient of its school (the
config now) had acknowledged holding all of it (`held`); a staff note likewise.
What a current recipient does not hold is never deleted: a school closed for
the summer must not lose a report (the health check warns instead). Deleted
rows are overwritten or vacuumed (the back end's `purge`). The key tool keeps
its own copies, so a lead's records do not depend on the relay; a student
whose conversation ended gets the same answer as for a wrong code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from relay.rounds import every
from relay.store import SQLStore, delete_expired

log = logging.getLogger("relay")
SWEEP_SECONDS = 3600.0


def cutoff_day(today: date, retention_days: int) -> str:
    """The last day whose activity is old enough to delete today."""
    return (today - timedelta(days=retention_days)).isoformat()


Readers = Mapping[str, Sequence[str]]  # each school's current recipients' ids


async def sweep(
    store: SQLStore, retention_days: int, today: date, now: int, readers: Readers
) -> int:
    """Delete what has expired, then make it unrecoverable; the number of cases deleted."""
    cutoff = cutoff_day(today, retention_days)
    deleted = await store.awrite("", delete_expired, cutoff, now, readers, today.isoformat())
    await asyncio.to_thread(store.purge)
    if deleted:
        log.info(
            "retention: deleted %d conversations",
            deleted,
            extra={"event": "retention", "deleted": deleted},
        )
    return deleted


async def run_sweeper(
    store: SQLStore,
    retention_days: int,
    readers: Readers,
    clock: Callable[[], float],
    stop: asyncio.Event,
) -> None:
    """Sweep at start and then hourly until stopped; a failed sweep never stops the next."""

    async def one_round() -> None:
        now = clock()
        day = datetime.fromtimestamp(now, UTC).date()
        await sweep(store, retention_days, day, int(now), readers)

    await every(SWEEP_SECONDS, stop, "retention sweep", one_round)


def today() -> date:
    return datetime.fromtimestamp(time.time(), UTC).date()
