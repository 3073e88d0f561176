"""Storage for the relay: ciphertext envelopes, per-school daily counts, seen nonces.

Two back ends share this interface and its SQL: SQLite (embedded, the default)
and PostgreSQL (several relay instances behind a load balancer). Neither stores
anything about the sender: no address, no user agent, no time finer than the day.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


class StoreError(ValueError):
    """A store URL that cannot be used."""


@dataclass(frozen=True)
class StoredEnvelope:
    seq: int
    id: str
    received: str  # UTC day, YYYY-MM-DD
    body: str  # the envelope as canonical JSON


@dataclass(frozen=True)
class Added:
    id: str
    received: str
    duplicate: bool  # the same envelope (same nonce) was stored before


class Store(Protocol):
    def add_envelope(
        self, school: str, nonce: str, body: str, day: str, daily_quota: int
    ) -> Added | None:
        """Store an envelope durably; None when the school's quota for the day is used up.

        A second post of the same envelope (same nonce, as when a phone retries
        after a dropped answer) returns the first one's id and stores nothing.
        """

    def list_envelopes(self, school: str, after: int, limit: int) -> list[StoredEnvelope]: ...

    def use_nonce(self, nonce: str, now: int, expires: int) -> bool:
        """Record a staff request nonce; False if it was seen before (a replay)."""

    def close(self) -> None: ...


def schema(serial_key: str, big_int: str) -> str:
    """The tables, the same for both back ends but for two column types."""
    return f"""
CREATE TABLE IF NOT EXISTS envelopes (
    seq {serial_key},
    id TEXT NOT NULL UNIQUE,
    school TEXT NOT NULL,
    nonce TEXT NOT NULL UNIQUE,
    received TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS envelopes_school_seq ON envelopes (school, seq);
CREATE TABLE IF NOT EXISTS daily_counts (
    school TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (school, day)
);
CREATE TABLE IF NOT EXISTS seen_nonces (
    nonce TEXT PRIMARY KEY,
    expires {big_int} NOT NULL
);
"""


def new_id() -> str:
    return secrets.token_urlsafe(12)


def open_store(url: str) -> Store:
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
