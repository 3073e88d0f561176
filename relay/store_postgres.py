"""PostgreSQL store, for several stateless relay instances sharing one database.

Writes for one school take a transaction-scoped advisory lock, so a school's
sequence numbers commit in order and a staff member reading with `after=SEQ`
can never skip one that committed late.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from relay.store import SQLStore, StoreError, migration_scripts

MIGRATION_LOCK = 7427466391  # any fixed number: serialises start-up of several relays


class _PostgresTx:
    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self.db = db

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(_pg(sql), args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(_pg(sql), args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.db.execute(_pg(sql), args).rowcount


def _pg(sql: str) -> str:
    """Our SQL uses ? placeholders (SQLite's); psycopg wants %s. No statement holds a literal ?."""
    return sql.replace("?", "%s")


class PostgresStore(SQLStore):
    def __init__(self, url: str) -> None:
        try:
            self._db = psycopg.connect(url, autocommit=False, connect_timeout=10)
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
                current = (row[0] if row else None) or 0
                for number, sql in migration_scripts(blob="BYTEA", big_int="BIGINT"):
                    if number > current:
                        self._db.execute(sql.encode())
                        self._db.execute(
                            "INSERT INTO schema_version (version) VALUES (%s)", (number,)
                        )
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())
            raise StoreError(f"cannot use the PostgreSQL database ({detail})") from None
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[_PostgresTx]:
        with self._lock, self._db.transaction():
            if lock is not None:
                self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            yield _PostgresTx(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()
