"""The relay's background work: a round now, then one every so often, until the relay stops.

Retention's sweep, the notice sender and the escalation ladder each run this way. A
round that fails (a store hiccup, a network error) is logged by its kind only, never its
text, and never stops the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("relay")


async def every(
    seconds: float, stop: asyncio.Event, what: str, one_round: Callable[[], Awaitable[object]]
) -> None:
    """Run one_round at once and then every `seconds` until stop is set."""
    while not stop.is_set():
        try:
            await one_round()
        except Exception as exc:  # noqa: BLE001 - a failed round must not end the next ones
            log.error("%s failed: %s", what, type(exc).__name__, extra={"event": "error"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
