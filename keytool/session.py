"""An unlocked identity with what the tool remembers: what the CLI and the desk both work from.

Settings given now (a relay URL, the deployment config) are remembered for the
next run. Requests and staff messages are signed with the key the deployment
config lists for this person, so that after `rotate` everything keeps working
until the new config is published.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from keytool import index
from keytool.cases import Inbox as CaseInbox
from keytool.cases import Opened, Opener, assemble
from keytool.client import ACK_TIMEOUT, MAX_PAGES, Page, Relay, Row
from keytool.directory import Colleagues
from keytool.errors import KeyToolError
from keytool.identity import Identity, load_identity
from keytool.inbox import Inbox, Stored
from keytool.send import Writer
from keytool.settings import Settings, load_settings, remembered_location, update_settings
from quietdoor.payloads import SENT_FORMAT
from quietdoor.protocol import SLUG_RE


@dataclass
class Session:
    home: Path
    identity: Identity
    settings: Settings
    colleagues: Colleagues
    given: dict[str, str] = field(default_factory=dict)  # settings given now, for remember()
    _cached: tuple[tuple[int, int, int, int], CaseInbox] | None = field(default=None, repr=False)
    _index: dict[str, Opened] | None = field(default=None, repr=False)
    _reading: threading.Lock = field(default_factory=threading.Lock, repr=False)  # desk threads

    @classmethod
    def open(cls, home: Path, passphrase: str, config: str | None = None) -> Session:
        identity = load_identity(home, passphrase)
        settings = load_settings(home)
        given = {"config": remembered_location(config)} if config else {}
        settings = dataclasses.replace(settings, **given)
        colleagues = Colleagues.load(identity.recipient, settings.config)
        return cls(home, identity, settings, colleagues, given)

    @property
    def writer(self) -> Writer:
        published = self.colleagues.published()
        key = self.identity.signing_key_for(published.ed25519 if published else None)
        return Writer(id=self.identity.recipient.id, signing_key=key)

    def remember(self, **changes: str) -> None:
        """Remember these keys and those given now; what another run remembered is kept."""
        self.settings = update_settings(self.home, **{**self.given, **changes})

    def relay(self, url: str | None = None) -> Relay:
        chosen = url or self.settings.relay_url
        if not chosen:
            raise KeyToolError("which relay? pass --relay https://relay.example.org")
        return Relay(chosen, self.writer.signing_key)

    def read(self, school: str | None = None) -> CaseInbox:
        """Every message checked, grouped into cases; only messages new to the index are opened.

        The whole inbox is also kept in memory while nothing in it changes: the desk
        reads it on every page.
        """
        with self._reading, Inbox(self.home) as inbox:
            version = inbox.version()
            cached = self._cached
            if school is None and cached is not None and cached[0] == version:
                return cached[1]
            result = self._build(inbox, school)
        if school is None:
            self._cached = (version, result)
        return result

    def _build(self, inbox: Inbox, school: str | None) -> CaseInbox:
        with _collecting_later():
            listed = inbox.listed(school)
            since = inbox.v2_since()
            opened = self._opened()
            new = [m.id for m in listed if m.id not in opened]
            if new:
                envelopes = inbox.envelopes(new)
                opener = Opener(self.identity.box_keys, self.colleagues)
                for m in listed:
                    if m.id in envelopes:
                        stored = Stored(**vars(m), envelope=envelopes[m.id])
                        opened[m.id] = opener.open(stored)
                index.save(self.home, self._index_key, self._index_inputs, opened)
            return assemble([(m, opened[m.id]) for m in listed], self.colleagues, since)

    def _opened(self) -> dict[str, Opened]:
        """What the index holds, read from disk once per session."""
        if self._index is None:
            self._index = index.load(self.home, self._index_key, self._index_inputs)
        return self._index

    @property
    def _index_key(self) -> bytes:
        return index.index_key(self.identity.box_key)

    @cached_property
    def _index_inputs(self) -> bytes:
        return index.inputs(self.identity.box_keys, self.colleagues)

    def held(self, school: str | None = None) -> dict[str, int]:
        """This tool's cursor at its remembered relay, per school (one school if named).

        Taken before a person reads the inbox, so that `seen` never claims more than
        what was on the screen, even when a background fetch adds messages meanwhile.
        """
        url = self.settings.relay_url
        if not url:
            return {}
        with Inbox(self.home) as inbox:
            return {
                name: after
                for at, name, after in inbox.cursors()
                if at == url and school in (None, name)
            }

    def climbed(self, schools: Sequence[str]) -> tuple[dict[str, dict[str, int]], list[str]]:
        """Per school and month, escalations past the first tier, as the relay counts them.

        Never fails the numbers the inbox gives: without a remembered relay, or when it
        does not answer, the counts are left out and a warning says why.
        """
        url = self.settings.relay_url
        if not url:
            return {}, []
        relay = self.relay(url)
        found: dict[str, dict[str, int]] = {}
        try:
            for school in schools:
                found[school] = relay.escalations(school)
        except KeyToolError as exc:
            return {}, [f"escalation counts left out: {exc}"]
        return found, []

    def acknowledge_seen(
        self, held: Mapping[str, int], only: Collection[str] | None = None
    ) -> list[str]:
        """Tell the relay what a person has looked at, up to these cursors; warnings to show.

        Called when a person views the inbox (list, the desk's inbox page: every message
        up to the cursors) or one case (show: `only` its message ids), never by a
        background fetch. `seen` claims no message nobody here has looked at: it stops
        below the first one (Inbox.mark_seen), so a report in another case keeps its
        escalation open.
        """
        url = self.settings.relay_url
        if not url or not held:
            return []
        now = datetime.now(UTC).strftime(SENT_FORMAT)
        with Inbox(self.home) as inbox:
            seen = {
                school: inbox.mark_seen(school, upto, now, only) for school, upto in held.items()
            }
        relay = self.relay(url)
        for school, after in seen.items():
            relay.acknowledge(school, seen=after, timeout=ACK_TIMEOUT)
        return relay.warnings

    def fetch(
        self,
        relay: Relay,
        schools: Sequence[str] = (),
        progress: Callable[[str, int], None] | None = None,
        warn: Callable[[str], None] = lambda text: None,
    ) -> dict[str, int]:
        """New messages of these schools (default: all the relay says I read), kept encrypted.

        warn: told when a school's messages were read again (see _fetch_school).
        """
        chosen = list(schools) or relay.schools()
        added: dict[str, int] = {}
        with Inbox(self.home) as inbox:
            for school in chosen:
                if not SLUG_RE.fullmatch(school):
                    raise KeyToolError(f"{school!r} is not a school slug")
                added[school] = _fetch_school(relay, inbox, school, warn)
                if progress is not None:
                    progress(school, added[school])
        self.remember(relay_url=relay.url)
        return added


@contextmanager
def _collecting_later() -> Iterator[None]:
    """No garbage collection while an inbox is built.

    An inbox is many objects without cycles (freed by their reference counts):
    collecting while it is built scanned them again and again, a third of a visit's
    time with thousands of cases. Nothing is frozen afterwards: in a desk that runs all
    day, freezing on every read would also freeze whatever its other threads held at
    that moment, and their cycles would never be collected.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


RESTORED = (
    "{school}: the relay's messages changed below what this tool had read "
    "(a restored relay?); everything was read again"
)


def _fetch_school(relay: Relay, inbox: Inbox, school: str, warn: Callable[[str], None]) -> int:
    """Fetch from one before the cursor, to see that the relay still has what this tool read.

    A relay restored from a backup hands out cursors again that this tool has
    already passed: if the row at the cursor is missing or another message, every
    message is read again from the start (kept once by id).
    """
    held = inbox.cursor(relay.url, school)
    if not held:
        return _read_pages(relay, inbox, school, relay.page(school, 0))
    page = relay.page(school, held - 1)
    first = page.rows[0] if page.rows else None
    if first is not None and first.cursor == held and first.id == inbox.id_at(school, held):
        return _read_pages(relay, inbox, school, Page(rows=page.rows[1:], more=page.more))
    changed: list[bool] = []
    added = _read_pages(
        relay,
        inbox,
        school,
        relay.page(school, 0),
        lambda rows: changed.extend(r.cursor <= held and not inbox.has(r.id) for r in rows),
    )
    if any(changed):
        warn(RESTORED.format(school=school))
    return added


def _read_pages(
    relay: Relay,
    inbox: Inbox,
    school: str,
    page: Page,
    before_keeping: Callable[[list[Row]], None] = lambda rows: None,
) -> int:
    added = 0
    for _ in range(MAX_PAGES):
        before_keeping(page.rows)
        added += inbox.add_page(relay.url, school, page.rows)
        if page.rows:
            # Stored (committed): now the relay may count it as held; retention waits for it.
            relay.acknowledge(school, held=inbox.cursor(relay.url, school))
        if not page.more:
            return added
        page = relay.page(school, inbox.cursor(relay.url, school))
    raise KeyToolError(
        f"{relay.url} keeps saying there is more for {school}; stopped after "
        f"{MAX_PAGES} pages (what came so far is saved); run fetch again"
    )
