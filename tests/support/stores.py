"""The relay's stores: the PostgreSQL server, several relays opening one store, event loops."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from relay.store import SQLStore
from relay.stores import open_store

POSTGRES = os.environ.get("QUIETDOOR_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


T = TypeVar("T")


def run_on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, in a thread of its own.

    Playwright's sync API (used by the browser tests in this session) leaves an event
    loop set on the main thread, where asyncio.run would refuse to start another.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def open_at_once(store_url: str, relays: int) -> list[SQLStore]:
    """Open the store from several threads released together, as relays starting at once."""
    barrier = threading.Barrier(relays)
    stores: list[SQLStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            s = open_store(store_url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        else:
            stores.append(s)

    threads = [threading.Thread(target=start) for _ in range(relays)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for s in stores:
            s.close()
        raise errors[0]
    return stores
