"""An unlocked identity with what the tool remembers: what the CLI and the desk both work from.

Settings given now (a relay URL, the deployment config) are remembered for the
next run. Requests and staff messages are signed with the key the deployment
config lists for this person, so that after `rotate` everything keeps working
until the new config is published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keytool.cases import Inbox as CaseInbox
from keytool.cases import read_inbox
from keytool.client import ACK_TIMEOUT, MAX_PAGES, Relay
from keytool.directory import Colleagues
from keytool.errors import KeyToolError
from keytool.identity import Identity, load_identity
from keytool.inbox import Inbox
from keytool.send import Writer
from keytool.settings import Settings, load_settings, remembered_location, save_settings
from quietdoor.protocol import SLUG_RE


@dataclass
class Session:
    home: Path
    identity: Identity
    settings: Settings
    colleagues: Colleagues
    _cached: tuple[tuple[int, int, int], CaseInbox] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, home: Path, passphrase: str, config: str | None = None) -> Session:
        identity = load_identity(home, passphrase)
        settings = load_settings(home)
        if config:
            settings = dataclasses.replace(settings, config=remembered_location(config))
        colleagues = Colleagues.load(identity.recipient, settings.config)
        return cls(home, identity, settings, colleagues)

    @property
    def writer(self) -> Writer:
        published = self.colleagues.published()
        key = self.identity.signing_key_for(published.ed25519 if published else None)
        return Writer(id=self.identity.recipient.id, signing_key=key)

    def remember(self, **changes: str) -> None:
        updated = dataclasses.replace(self.settings, **changes)
        if updated != load_settings(self.home):
            save_settings(self.home, updated)
        self.settings = updated

    def relay(self, url: str | None = None) -> Relay:
        chosen = url or self.settings.relay_url
        if not chosen:
            raise KeyToolError("which relay? pass --relay https://relay.example.org")
        return Relay(chosen, self.writer.signing_key)

    def read(self, school: str | None = None) -> CaseInbox:
        """Every message decrypted and checked, grouped into cases.

        The whole inbox is kept while nothing in it changes: the desk reads it on
        every page, and opening thousands of messages takes a second or more.
        """
        with Inbox(self.home) as inbox:
            version = inbox.version()
            cached = self._cached
            if school is None and cached is not None and cached[0] == version:
                return cached[1]
            stored = inbox.messages(school)
        result = read_inbox(stored, self.identity.box_keys, self.colleagues)
        if school is None:
            self._cached = (version, result)
        return result

    def acknowledge_seen(self) -> list[str]:
        """Tell the relay a person looked at everything this tool holds; warnings to show.

        Called when a person views the inbox (list, show, the desk's inbox page), never
        by a background fetch. Nothing to say without a remembered relay.
        """
        url = self.settings.relay_url
        if not url:
            return []
        with Inbox(self.home) as inbox:
            held = [(school, after) for at, school, after in inbox.cursors() if at == url]
        relay = self.relay(url)
        for school, after in held:
            relay.acknowledge(school, seen=after, timeout=ACK_TIMEOUT)
        return relay.warnings

    def fetch(
        self,
        relay: Relay,
        schools: Sequence[str] = (),
        progress: Callable[[str, int], None] | None = None,
    ) -> dict[str, int]:
        """New messages of these schools (default: all the relay says I read), kept encrypted."""
        chosen = list(schools) or relay.schools()
        added: dict[str, int] = {}
        with Inbox(self.home) as inbox:
            for school in chosen:
                if not SLUG_RE.fullmatch(school):
                    raise KeyToolError(f"{school!r} is not a school slug")
                added[school] = _fetch_school(relay, inbox, school)
                if progress is not None:
                    progress(school, added[school])
        self.remember(relay_url=relay.url)
        return added


def _fetch_school(relay: Relay, inbox: Inbox, school: str) -> int:
    added = 0
    for _ in range(MAX_PAGES):
        page = relay.page(school, inbox.cursor(relay.url, school))
        added += inbox.add_page(relay.url, school, page.rows)
        if page.rows:
            # Stored (committed): now the relay may count it as held; retention waits for it.
            relay.acknowledge(school, held=inbox.cursor(relay.url, school))
        if not page.more:
            return added
    raise KeyToolError(
        f"{relay.url} keeps saying there is more for {school}; stopped after "
        f"{MAX_PAGES} pages (what came so far is saved); run fetch again"
    )
