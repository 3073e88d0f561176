"""The local inbox: messages fetched from the relay, kept encrypted on the lead's laptop.

Messages are stored as the relay served them (ciphertext) and decrypted only
when shown, so the inbox file holds no plaintext either (what was decrypted is
kept in keytool.index, encrypted too). A page of the relay's
answer is stored with its cursor in one transaction: a fetch that stops half
way leaves the inbox as it was before that page.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keytool.client import Row
from keytool.errors import KeyToolError
from keytool.home import private_file
from quietdoor import protocol
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.payloads import SENT_FORMAT, Author

INBOX_FILE = "inbox.sqlite3"
CHUNK = 500  # ids per query: below SQLite's limit on parameters

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    cursor INTEGER,
    case_id TEXT,
    author TEXT NOT NULL,
    received TEXT NOT NULL,
    body TEXT NOT NULL,
    fetched TEXT,
    seen_at TEXT
);
CREATE TABLE IF NOT EXISTS cursors (
    relay TEXT NOT NULL,
    school TEXT NOT NULL,
    after INTEGER NOT NULL,
    PRIMARY KEY (relay, school)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Inboxes written before version 2 lack the day each message was fetched; before 2.1, when
# a person first saw it.
UPGRADES = {
    "fetched": "ALTER TABLE messages ADD COLUMN fetched TEXT",
    "seen_at": "ALTER TABLE messages ADD COLUMN seen_at TEXT",
}


@dataclass(frozen=True)
class Listed:
    """What the inbox knows about a message besides its envelope (cheap to read for all)."""

    id: str
    school: str
    cursor: int | None  # None until a fetch lists a message this tool sent itself
    case_id: bytes | None
    author: Author
    received: str
    fetched: str = ""  # the local UTC day this tool stored it ("" before version 2)
    seen_at: str = ""  # when a person first viewed it here, UTC to the minute ("" not yet)


@dataclass(frozen=True)
class Stored(Listed):
    """One message in the inbox, still encrypted."""

    envelope: protocol.Envelope = field(kw_only=True)


class Inbox:
    def __init__(self, home: Path) -> None:
        path = private_file(home, INBOX_FILE)
        try:
            self.db = sqlite3.connect(path)
            self.db.executescript(SCHEMA)
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(messages)")}
            for column, upgrade in UPGRADES.items():
                if column not in columns:
                    self.db.execute(upgrade)
        except sqlite3.Error as exc:
            raise KeyToolError(f"cannot open the inbox {path} ({exc})") from None

    def v2_since(self) -> str:
        """The UTC day this inbox was first used by a version-2 key tool (recorded then)."""
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('v2_since', ?)", (_today(),)
            )
        row = self.db.execute("SELECT value FROM meta WHERE name = 'v2_since'").fetchone()
        return str(row[0])

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.db.close()

    def cursor(self, relay: str, school: str) -> int:
        row = self.db.execute(
            "SELECT after FROM cursors WHERE relay = ? AND school = ?", (relay, school)
        ).fetchone()
        return int(row[0]) if row else 0

    def id_at(self, school: str, cursor: int) -> str | None:
        """The id of the message stored for this cursor (the latest stored, after a restore)."""
        row = self.db.execute(
            "SELECT id FROM messages WHERE school = ? AND cursor = ? ORDER BY rowid DESC LIMIT 1",
            (school, cursor),
        ).fetchone()
        return None if row is None else str(row[0])

    def has(self, message_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone()
        return row is not None

    def add_page(self, relay: str, school: str, rows: list[Row]) -> int:
        """Store one page and move the cursor, in one transaction; the number of new messages."""
        added = 0
        with self.db:
            for row in rows:
                added += self._keep(school, row, _today())
            if rows:
                self.db.execute(
                    "INSERT INTO cursors (relay, school, after) VALUES (?, ?, ?) "
                    "ON CONFLICT (relay, school) DO UPDATE SET after = excluded.after",
                    (relay, school, rows[-1].cursor),
                )
        return added

    def _keep(self, school: str, row: Row, fetched: str) -> int:
        """Store a listed message (1), or give a sent one its cursor (1), or nothing new (0)."""
        cur = self.db.execute(
            "INSERT INTO messages (id, school, cursor, case_id, author, received, body, fetched) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor "
            "WHERE messages.cursor IS NULL",
            (
                row.id,
                school,
                row.cursor or None,
                None if row.case_id is None else b64u_encode(row.case_id),
                row.author,
                row.received,
                row.envelope.canonical(),
                fetched,
            ),
        )
        return cur.rowcount

    def add_sent(self, message_id: str, row: Row) -> None:
        """A message this tool just posted, shown at once; the next fetch fills in its cursor.

        Its writer has seen it: it never holds `seen` back (see mark_seen).
        """
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO messages "
                "(id, school, cursor, case_id, author, received, body, fetched, seen_at) "
                "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    row.envelope.school,
                    None if row.case_id is None else b64u_encode(row.case_id),
                    row.author,
                    row.received,
                    row.envelope.canonical(),
                    _today(),
                    datetime.now(UTC).strftime(SENT_FORMAT),
                ),
            )

    def version(self) -> tuple[int, int, int, int]:
        """Changes whenever a message is stored, a sent one gets its cursor or a person first
        sees one: a cache key."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(rowid), 0), count(*) - count(cursor), count(seen_at) "
            "FROM messages"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def cursors(self) -> list[tuple[str, str, int]]:
        """(relay, school, after) for every relay and school fetched so far."""
        rows = self.db.execute("SELECT relay, school, after FROM cursors ORDER BY relay, school")
        return [(str(r), str(s), int(a)) for r, s, a in rows.fetchall()]

    def restore(self, messages: list[tuple[str, Row]], cursors: list[tuple[str, str, int]]) -> int:
        """Merge messages and cursors from a backup in one transaction; the number of new ones.

        A cursor only moves forward: together, the inbox and the backup hold every
        message up to the larger of their two cursors.
        """
        added = 0
        with self.db:
            for school, row in messages:
                # The backup does not say when it was fetched; the relay's day is the best bound.
                added += self._keep(school, row, row.received)
            for relay, school, after in cursors:
                self.db.execute(
                    "INSERT INTO cursors (relay, school, after) VALUES (?, ?, ?) "
                    "ON CONFLICT (relay, school) DO UPDATE SET after = max(after, excluded.after)",
                    (relay, school, after),
                )
        return added

    def mark_seen(
        self, school: str, upto: int, at: str, only: Collection[str] | None = None
    ) -> int:
        """A person viewed the school's messages up to this cursor (only these ids, if named):
        keep when, once. The cursor `seen` may claim: the highest at or below `upto` below
        which every message of the school has been viewed by a person here.
        """
        with self.db:
            if only is None:
                self.db.execute(
                    "UPDATE messages SET seen_at = ? "
                    "WHERE school = ? AND cursor <= ? AND seen_at IS NULL",
                    (at, school, upto),
                )
            else:
                ids = list(only)
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start : start + CHUNK]
                    marks = ",".join("?" * len(chunk))
                    query = (
                        "UPDATE messages SET seen_at = ? "  # noqa: S608 - our own placeholders
                        "WHERE school = ? AND cursor <= ? AND seen_at IS NULL "
                        f"AND id IN ({marks})"
                    )
                    self.db.execute(query, (at, school, upto, *chunk))
        row = self.db.execute(
            "SELECT min(cursor) FROM messages WHERE school = ? AND cursor <= ? AND seen_at IS NULL",
            (school, upto),
        ).fetchone()
        return upto if row[0] is None else int(row[0]) - 1

    def messages(self, school: str | None = None) -> list[Stored]:
        """Every stored message, in the order the relay listed them (sent ones last)."""
        rows = self._select("body", school)
        return [
            Stored(*_listed(r), envelope=protocol.parse_envelope(json.loads(r[8]))) for r in rows
        ]

    def listed(self, school: str | None = None) -> list[Listed]:
        """Every stored message without its envelope, in the order of `messages`."""
        return [Listed(*_listed(r)) for r in self._select("NULL", school)]

    def envelopes(self, ids: Sequence[str]) -> dict[str, protocol.Envelope]:
        """The envelopes of these messages, by id."""
        found: dict[str, protocol.Envelope] = {}
        for at in range(0, len(ids), CHUNK):
            chunk = ids[at : at + CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, body FROM messages WHERE id IN ({marks})"  # noqa: S608
            for message_id, body in self.db.execute(query, chunk):
                found[message_id] = protocol.parse_envelope(json.loads(body))
        return found

    def _select(self, body: str, school: str | None) -> list[tuple[Any, ...]]:
        query = (
            "SELECT id, school, cursor, case_id, author, received, fetched, seen_at, "  # noqa: S608
            f"{body} FROM messages"
        )
        args: tuple[str, ...] = ()
        if school:
            query += " WHERE school = ?"
            args = (school,)
        return self.db.execute(query + " ORDER BY cursor IS NULL, cursor, rowid", args).fetchall()


def _listed(r: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of `_select` as Listed's fields."""
    case_id = None if r[3] is None else b64u_decode(r[3])
    return r[0], r[1], r[2], case_id, r[4], r[5], r[6] or "", r[7] or ""


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
