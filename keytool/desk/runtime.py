"""What the desk holds while it runs: the secrets that let the lead's browser in, the unlocked
keys (or none), when the lead last used it, and what the background fetch last did.

Locking drops the session, and with it the only references to the private keys
and the decrypted cases this process holds; Python cannot promise the memory is
wiped at once, so closing the desk (Ctrl-C) is the sure way to forget them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from keytool.errors import KeyToolError
from keytool.present import clean
from keytool.session import Session

DEFAULT_EVERY = 120  # seconds between background fetches
DEFAULT_IDLE_MINUTES = 15  # the desk locks after this long without the lead's requests
IDLE_TICK = 5.0  # seconds between the idle watcher's looks, when no request comes
LINK_FILE_SECONDS = 60.0  # how long `--open`'s file, which holds the link, may live


@dataclass(frozen=True)
class Checked:
    """The outcome of the last fetch, as the page shows it."""

    at: datetime  # aware, UTC
    new: int
    error: str = ""
    warnings: tuple[str, ...] = ()  # what the check noticed: a restored or an older relay


class DeskRuntime:
    """The running desk: who may come in, the unlocked keys, the background fetch."""

    def __init__(
        self,
        home: Path,
        config: str | None,
        relay: str | None,
        every: int = DEFAULT_EVERY,
        idle_minutes: int = DEFAULT_IDLE_MINUTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.home = home
        self.config = config
        self.relay_url = relay
        self.every = every
        self.idle_seconds = idle_minutes * 60.0
        self.clock = clock
        self.last_used = clock()
        self.link_secret: str | None = secrets.token_urlsafe(32)  # spent on first use
        self.link_file: Path | None = None  # `--open`'s file holding the link, while it lives
        self.cookie_secret = secrets.token_urlsafe(32)
        self.session: Session | None = None
        self.idle_locked = False  # the last lock was the idle one: the unlock page says so
        self.checked: Checked | None = None
        self.checking = False
        self.fetches = 0  # how many fetches finished since start: the page notices new ones
        self._unlocking = threading.Lock()
        self._wake = asyncio.Event()

    # --- who may come in ----------------------------------------------------------

    def spend_link(self, offered: str) -> bool:
        """True once: for the secret printed in the terminal; never again after."""
        secret = self.link_secret
        if secret is None or not hmac.compare_digest(offered.encode(), secret.encode()):
            return False
        self.link_secret = None
        self.drop_link_file()
        return True

    def drop_link_file(self) -> None:
        """Remove `--open`'s file (and its private folder): the link is spent or too old."""
        path, self.link_file = self.link_file, None
        if path is not None:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    async def drop_link_file_later(self) -> None:
        await asyncio.sleep(LINK_FILE_SECONDS)
        self.drop_link_file()

    def cookie_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(
            offered.encode(), self.cookie_secret.encode()
        )

    # --- the keys -----------------------------------------------------------------

    def unlock(self, passphrase: str) -> Session:
        """Open the keys (Argon2id: about a second); one attempt at a time. Run in a thread;
        the caller wakes the fetcher."""
        with self._unlocking:
            session = Session.open(self.home, passphrase, self.config)
            if self.config:
                session.remember(config=session.settings.config)
            if self.relay_url:
                session.remember(relay_url=self.relay_url)
            self.session = session
            self.idle_locked = False
            self.used()  # the idle minutes count from here, not from the request's start
        return session

    def lock(self) -> None:
        self.session = None
        self.checked = None
        self.idle_locked = False

    # --- idle lock ----------------------------------------------------------------

    def used(self) -> None:
        """The lead loaded a page or sent a form (never the page's own polling)."""
        self.last_used = self.clock()

    def lock_if_idle(self) -> None:
        if self.session is not None and self.clock() - self.last_used >= self.idle_seconds:
            self.lock()
            self.idle_locked = True

    async def lock_when_idle(self) -> None:
        """Lock even when no request comes (the browser closed, the lead walked away)."""
        while True:
            self.lock_if_idle()
            await asyncio.sleep(IDLE_TICK)

    # --- background fetching ------------------------------------------------------

    def wake(self) -> None:
        """Fetch now rather than at the next interval (from the event loop's thread).

        The fetch counts as under way from here: the page the lead is sent to next may be
        drawn before the fetcher runs, and it must say "checking" and watch for the result,
        not show an empty inbox that waits for the next poll."""
        if self.session is not None:
            self.checking = True
        self._wake.set()

    async def fetch_forever(self) -> None:
        while True:
            session = self.session
            if session is not None:
                await self._fetch(session)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.every)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _fetch(self, session: Session) -> None:
        self.checking = True
        try:
            relay = session.relay()
            noticed: list[str] = []
            added = await asyncio.to_thread(session.fetch, relay, warn=noticed.append)
            outcome = Checked(
                at=datetime.now(UTC),
                new=sum(added.values()),
                warnings=tuple(clean(w) for w in noticed + relay.warnings),
            )
        except KeyToolError as exc:
            outcome = Checked(at=datetime.now(UTC), new=0, error=str(exc))
        finally:
            self.checking = self._wake.is_set()  # another check asked for meanwhile
        if self.session is session:  # not locked meanwhile
            self.checked = outcome
            self.fetches += 1
