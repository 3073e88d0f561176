"""Storage for the relay: cases, their ciphertext messages, daily counts, seen nonces.

The logic (dedupe, then quota, then insert, each in one transaction) and the
SQL are written once here; the SQLite and PostgreSQL back ends supply only a
connection, their transaction and lock, and two column types. Nothing stored
says anything about the sender: no address, no user agent, no time finer than
the UTC day.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from relay.errors import RelayError

Author = Literal["public", "student", "staff"]
MAX_CASE_MESSAGES = 200  # a conversation longer than this is refused, so a read stays bounded


class StoreError(RelayError):
    """A store that cannot be opened or used; the message says what to check."""


class Refused(RelayError):
    """A write the store refuses; status is the HTTP status the relay answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Case:
    case_id: str  # base64url, as on the wire
    school: str
    auth_hash: bytes
    case_key: str  # key id (base64url) of the case's own key, sealed to in every case message


@dataclass(frozen=True)
class Message:
    seq: int  # per school: a school's cursor, which says nothing of other schools' volumes
    id: str
    school: str
    case_id: str | None  # None for staff notes, which belong to no case on the relay
    author: Author
    received: str  # UTC day, YYYY-MM-DD
    body: str  # the envelope as canonical JSON


@dataclass(frozen=True)
class Added:
    id: str
    received: str
    duplicate: bool  # the same envelope (same nonce, same bytes) was stored before


@dataclass(frozen=True)
class Notice:
    """One recipient, by one channel, to be told that a school has something new.

    due is the end of the window the message arrived in (Unix seconds): the only time
    a notice holds, and no finer than the window.
    """

    recipient: str
    channel: str
    school: str
    due: int
    attempts: int = 0


@dataclass(frozen=True)
class NewMessage:
    """What the relay asks the store to keep: the envelope and where it belongs."""

    school: str
    case_id: str | None
    author: Author
    nonce: str
    body: str
    day: str


MIGRATIONS: Sequence[str] = (
    # 1: cases and their messages, per-school sequence numbers.
    """
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    auth_hash {blob} NOT NULL,
    case_key TEXT NOT NULL,
    opened TEXT NOT NULL,
    last_day TEXT NOT NULL
);
CREATE TABLE messages (
    school TEXT NOT NULL,
    seq {big_int} NOT NULL,
    id TEXT NOT NULL UNIQUE,
    case_id TEXT REFERENCES cases (case_id),
    author TEXT NOT NULL,
    nonce TEXT NOT NULL UNIQUE,
    received TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (school, seq)
);
CREATE INDEX messages_case ON messages (case_id, seq);
CREATE TABLE daily_counts (
    school TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (school, day)
);
CREATE TABLE seen_nonces (
    nonce TEXT PRIMARY KEY,
    expires {big_int} NOT NULL
);
""",
    # 2: notices waiting to be sent; a row lives from a message's commit to its delivery.
    """
CREATE TABLE notices (
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    school TEXT NOT NULL,
    due {big_int} NOT NULL,
    next_try {big_int} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (recipient, channel, school, due)
);
""",
)


class Tx(Protocol):
    """One open transaction: statements with ? placeholders, rows as tuples."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...


class SQLStore:
    """The relay's storage logic, written once; a back end supplies `transaction`."""

    def transaction(self, lock: str | None = None) -> AbstractContextManager[Tx]:
        """A transaction that commits durably on success; `lock` serialises one school's writes."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # --- writes -----------------------------------------------------------

    def open_case(
        self, case: Case, first: NewMessage, daily_quota: int, notices: Sequence[Notice] = ()
    ) -> Added:
        """Store a new case and its first message; Refused on a quota, a clash or a replay.

        The notices it makes are written in the same transaction, so a relay that dies
        after answering still sends them when it starts again.
        """
        with self.transaction(lock=first.school) as tx:
            seen = self._seen(tx, first)
            if seen is not None:
                return seen
            if tx.one("SELECT 1 FROM cases WHERE case_id = ?", (case.case_id,)):
                raise Refused(409, "a case with this id exists; start a new report")
            self._count(tx, first.school, first.day, daily_quota)
            tx.run(
                "INSERT INTO cases (case_id, school, auth_hash, case_key, opened, last_day) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (case.case_id, case.school, case.auth_hash, case.case_key, first.day, first.day),
            )
            self._queue(tx, notices)
            return self._insert(tx, first)

    def add_message(
        self, message: NewMessage, daily_quota: int | None, notices: Sequence[Notice] = ()
    ) -> Added:
        """Add a message to its case (or a staff note); a quota applies to students only."""
        with self.transaction(lock=message.school) as tx:
            seen = self._seen(tx, message)
            if seen is not None:
                return seen
            if message.case_id is not None:
                count = tx.one(
                    "SELECT COUNT(*) FROM messages WHERE case_id = ?", (message.case_id,)
                )
                if count is not None and count[0] >= MAX_CASE_MESSAGES:
                    raise Refused(409, "this conversation is full; please start a new report")
                tx.run(
                    "UPDATE cases SET last_day = ? WHERE case_id = ?",
                    (message.day, message.case_id),
                )
            if daily_quota is not None:
                self._count(tx, message.school, message.day, daily_quota)
            self._queue(tx, notices)
            return self._insert(tx, message)

    def _seen(self, tx: Tx, message: NewMessage) -> Added | None:
        """A retry of a stored envelope gets the first answer; another one with its nonce, 409."""
        row = tx.one("SELECT id, received, body FROM messages WHERE nonce = ?", (message.nonce,))
        if row is None:
            return None
        if row[2] != message.body:
            raise Refused(409, "another envelope was sent with this nonce")
        return Added(id=row[0], received=row[1], duplicate=True)

    def _count(self, tx: Tx, school: str, day: str, quota: int) -> None:
        counted = tx.one(
            "INSERT INTO daily_counts (school, day, count) VALUES (?, ?, 1) "
            "ON CONFLICT (school, day) DO UPDATE SET count = daily_counts.count + 1 "
            "WHERE daily_counts.count < ? RETURNING count",
            (school, day, quota),
        )
        if counted is None:
            raise Refused(
                429, "this school's inbox is full for today; please call or text the hotline"
            )

    def _queue(self, tx: Tx, notices: Sequence[Notice]) -> None:
        for n in notices:
            tx.run(
                "INSERT INTO notices (recipient, channel, school, due, next_try) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (n.recipient, n.channel, n.school, n.due, n.due),
            )

    def claim_notices(self, now: int, delay: Callable[[int], int]) -> list[Notice]:
        """The notices due now, each claimed (its next try moved on) so one relay sends it.

        A claim is a conditional update: of several relays that saw the row, only the
        one whose update still finds the old next_try gets it.
        """
        claimed = []
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT recipient, channel, school, due, next_try, attempts FROM notices "
                "WHERE next_try <= ? ORDER BY due LIMIT 500",
                (now,),
            )
            for recipient, channel, school, due, next_try, attempts in rows:
                tries = attempts + 1
                won = tx.run(
                    "UPDATE notices SET next_try = ?, attempts = ? WHERE recipient = ? "
                    "AND channel = ? AND school = ? AND due = ? AND next_try = ?",
                    (now + delay(tries), tries, recipient, channel, school, due, next_try),
                )
                if won == 1:
                    claimed.append(Notice(recipient, channel, school, due, tries))
        return claimed

    def pending_notices(self) -> int:
        with self.transaction() as tx:
            row = tx.one("SELECT COUNT(*) FROM notices")
        return int(row[0]) if row else 0

    def finish_notices(self, notices: Sequence[Notice]) -> None:
        with self.transaction() as tx:
            for n in notices:
                tx.run(
                    "DELETE FROM notices WHERE recipient = ? AND channel = ? AND school = ? "
                    "AND due = ?",
                    (n.recipient, n.channel, n.school, n.due),
                )

    def _insert(self, tx: Tx, m: NewMessage) -> Added:
        last = tx.one("SELECT MAX(seq) FROM messages WHERE school = ?", (m.school,))
        seq = (last[0] if last and last[0] is not None else 0) + 1
        message_id = new_id()
        tx.run(
            "INSERT INTO messages (school, seq, id, case_id, author, nonce, received, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (m.school, seq, message_id, m.case_id, m.author, m.nonce, m.day, m.body),
        )
        return Added(id=message_id, received=m.day, duplicate=False)

    def use_nonce(self, nonce: str, now: int, expires: int) -> bool:
        """Record a staff request nonce; False if it was seen before (a replay)."""
        with self.transaction() as tx:
            tx.run("DELETE FROM seen_nonces WHERE expires < ?", (now,))
            inserted = tx.run(
                "INSERT INTO seen_nonces (nonce, expires) VALUES (?, ?) "
                "ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires),
            )
        return inserted == 1

    # --- reads ------------------------------------------------------------

    def case(self, case_id: str) -> Case | None:
        with self.transaction() as tx:
            row = tx.one(
                "SELECT case_id, school, auth_hash, case_key FROM cases WHERE case_id = ?",
                (case_id,),
            )
        if row is None:
            return None
        return Case(case_id=row[0], school=row[1], auth_hash=bytes(row[2]), case_key=row[3])

    def case_messages(self, case_id: str) -> list[Message]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT seq, id, school, case_id, author, received, body FROM messages "
                "WHERE case_id = ? ORDER BY seq LIMIT ?",
                (case_id, MAX_CASE_MESSAGES),
            )
        return [Message(*row) for row in rows]

    def school_messages(self, school: str, after: int, limit: int) -> list[Message]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT seq, id, school, case_id, author, received, body FROM messages "
                "WHERE school = ? AND seq > ? ORDER BY seq LIMIT ?",
                (school, after, limit),
            )
        return [Message(*row) for row in rows]


def migration_scripts(blob: str, big_int: str) -> Iterator[tuple[int, str]]:
    """Each migration's number and SQL, with the back end's column types filled in."""
    for number, sql in enumerate(MIGRATIONS, start=1):
        yield number, sql.format(blob=blob, big_int=big_int)


def new_id() -> str:
    """A message id: 24 hex digits, so it never starts with '-' or needs quoting anywhere."""
    return secrets.token_hex(12)


def open_store(url: str) -> SQLStore:
    """sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://..."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from relay.store_sqlite import SQLiteStore

        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise StoreError(f"{url!r}: write sqlite:///path/to/relay.db")
        return SQLiteStore(path)
    if scheme in ("postgresql", "postgres"):
        from relay.store_postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(f"{url!r}: the store URL must start with sqlite:/// or postgresql://")
