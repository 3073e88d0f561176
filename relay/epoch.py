"""A new epoch of cursors, after the database was restored from a backup.

A restored database numbers new messages from the backup's last cursor again,
below what the leads' key tools have already read. Moving every school's next
cursor to the next multiple of 2^32 puts new messages above anything a key tool
can hold (it also detects the restore itself; see docs/PROTOCOL.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from relay.store import StoreError, Tx

EPOCH = 2**32
MAX_CURSOR = 2**62  # key tools refuse cursors from here on


@dataclass(frozen=True)
class Moved:
    school: str
    last: int  # the school's last cursor before
    next: int  # the cursor its next message gets


def new_epoch(tx: Tx, schools: Iterable[str]) -> list[Moved]:
    """Move each school's (the config's, and any the store numbers) next cursor to a new epoch."""
    lasts = {str(s): int(n) for s, n in tx.all("SELECT school, last FROM school_seq")}
    moved = []
    for school in sorted(set(schools) | set(lasts)):
        last = lasts.get(school, 0)
        start = (last // EPOCH + 1) * EPOCH
        if start >= MAX_CURSOR:
            raise StoreError(f"school_seq: {school}'s cursor {last} has no epoch left above it")
        tx.run(
            "INSERT INTO school_seq (school, last) VALUES (?, ?) "
            "ON CONFLICT (school) DO UPDATE SET last = excluded.last",
            (school, start - 1),
        )
        moved.append(Moved(school, last, start))
    return moved
