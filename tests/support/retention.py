"""The relay's retention sweep, run by a test on a day of its choosing (a clock moved on)."""

from __future__ import annotations

import time
from datetime import date

from quietdoor.config import Deployment
from relay.directory import Directory
from relay.retention import sweep
from relay.store import SQLStore
from relay.stores import open_store

from .stores import run_on_own_loop


def swept(store: SQLStore, on: date, deployment: Deployment) -> int:
    """Sweep as the relay does on day `on`, 90 days' retention, the config's readers; how
    many conversations went."""
    readers = Directory(deployment).every_school_readers()
    return run_on_own_loop(sweep(store, 90, on, int(time.time()), readers))


def swept_store(store_url: str, on: date, deployment: Deployment) -> int:
    """swept, on a running relay's store (SQLite file or PostgreSQL schema)."""
    store = open_store(store_url)
    try:
        return swept(store, on, deployment)
    finally:
        store.close()
