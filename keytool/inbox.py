"""The local inbox: envelopes fetched from the relay, kept encrypted on the lead's laptop.

Envelopes are stored as the relay served them, and decrypted only when shown, so
the inbox file holds no plaintext either.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keytool.errors import KeyToolError
from quietdoor import protocol

INBOX_FILE = "inbox.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS envelopes (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    relay TEXT NOT NULL,
    school TEXT NOT NULL,
    after INTEGER NOT NULL,
    PRIMARY KEY (relay, school)
);
"""


@dataclass(frozen=True)
class Item:
    id: str
    school: str
    received: str
    body: str


@dataclass(frozen=True)
class Opened:
    item: Item
    payload: dict[str, Any]


class Inbox:
    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.db = sqlite3.connect(home / INBOX_FILE)
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise KeyToolError(f"cannot open the inbox in {home} ({exc})") from None

    def cursor(self, relay: str, school: str) -> int:
        row = self.db.execute(
            "SELECT after FROM cursors WHERE relay = ? AND school = ?", (relay, school)
        ).fetchone()
        return int(row[0]) if row else 0

    def add_page(self, relay: str, school: str, rows: list[dict[str, Any]]) -> int:
        """Store one page of the relay's answer and move the cursor, in one transaction."""
        added = 0
        with self.db:
            last = self.cursor(relay, school)
            for row in rows:
                try:
                    seq, envelope_id = int(row["seq"]), str(row["id"])
                    received = str(row["received"])
                    body = json.dumps(row["envelope"], separators=(",", ":"), sort_keys=True)
                except (KeyError, TypeError, ValueError):
                    raise KeyToolError(
                        "the relay sent a malformed answer; nothing was saved"
                    ) from None
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO envelopes (id, school, seq, received, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (envelope_id, school, seq, received, body),
                )
                added += cur.rowcount
                last = max(last, seq)
            self.db.execute(
                "INSERT INTO cursors (relay, school, after) VALUES (?, ?, ?) "
                "ON CONFLICT (relay, school) DO UPDATE SET after = excluded.after",
                (relay, school, last),
            )
        return added

    def items(self, school: str | None = None) -> list[Item]:
        query = "SELECT id, school, received, body FROM envelopes"
        args: tuple[str, ...] = ()
        if school:
            query += " WHERE school = ?"
            args = (school,)
        rows = self.db.execute(query + " ORDER BY received, seq", args).fetchall()
        return [Item(id=r[0], school=r[1], received=r[2], body=r[3]) for r in rows]

    def item(self, envelope_id: str) -> Item:
        row = self.db.execute(
            "SELECT id, school, received, body FROM envelopes WHERE id = ?", (envelope_id,)
        ).fetchone()
        if row is None:
            raise KeyToolError(
                f"no envelope {envelope_id!r} in the inbox; run `fetch`, then `list`"
            )
        return Item(id=row[0], school=row[1], received=row[2], body=row[3])

    def close(self) -> None:
        self.db.close()


def open_items(items: list[Item], key: Any) -> Iterator[Opened | tuple[Item, str]]:
    """Decrypt each item; a damaged or foreign one yields (item, reason) and the rest go on."""
    for item in items:
        try:
            envelope = protocol.parse_envelope(json.loads(item.body))
            yield Opened(item=item, payload=protocol.open_envelope(envelope, key))
        except (protocol.ProtocolError, json.JSONDecodeError) as exc:
            yield item, str(exc)
