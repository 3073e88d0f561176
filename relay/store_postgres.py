"""PostgreSQL store, for several stateless relay instances sharing one database.

A pool of connections (psycopg_pool): the group-commit writers each take one
for a batch, readers one for a query. A school's cursors commit in order across
relays because each message's insert updates the school's counter row, which
stays locked until its transaction commits; batches run their jobs sorted by
school, so two relays' batches take those row locks in the same order. Start-up
migrations hold an advisory lock, so relays starting at once migrate once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from relay.commit import GroupCommit, Many
from relay.store import SQLStore, StoreError, migrate

MIGRATION_LOCK = 7427466391  # any fixed number: serialises start-up of several relays
WRITERS = 3  # batches in flight at once: one commits while the next fills
POOL_SIZE = WRITERS + 4


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

    def insert(self, into: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
        # One statement of many rows: the server parses and plans it once, not once a row.
        if rows:
            row = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
            values = ", ".join([row] * len(rows))
            self.db.execute(f"{into} VALUES {values} {tail}", [a for r in rows for a in r])


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """Our SQL uses ? placeholders (SQLite's); psycopg wants %s. No statement holds a literal ?."""
    return sql.replace("?", "%s")


class PostgresStore(SQLStore):
    kind = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            # One plain connection first: a wrong URL fails at once, with the server's reason.
            with psycopg.connect(url, autocommit=False, connect_timeout=10) as db:
                with db.transaction():
                    db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    migrate(_PostgresTx(db), blob="BYTEA", big_int="BIGINT")
            self._pool = ConnectionPool(
                url,
                min_size=2,
                max_size=POOL_SIZE,
                kwargs={"autocommit": False, "connect_timeout": 10},
                open=False,
                name="relay",
            )
            self._pool.open(wait=True, timeout=15)
        except (psycopg.Error, PoolTimeout) as exc:
            detail = " ".join(str(exc).split())
            raise StoreError(f"cannot use the PostgreSQL database ({detail})") from None
        super().__init__()
        self.writer = GroupCommit(self._transaction, writers=WRITERS, on_batch=self._batch)

    def submit(self, key: str, many: Many, item: Any) -> Future[Any]:
        return self.writer.submit(many, item, key)

    async def asubmit(self, key: str, many: Many, item: Any) -> Any:
        return await self.writer.run(many, item, key)

    @contextmanager
    def _transaction(self) -> Iterator[_PostgresTx]:
        with self._pool.connection() as db, db.transaction():
            yield _PostgresTx(db)

    def read_transaction(self) -> AbstractContextManager[_PostgresTx]:
        return self._transaction()

    def purge(self) -> None:
        # VACUUM cannot run inside a transaction block.
        with self._pool.connection() as db:
            db.autocommit = True
            try:
                db.execute("VACUUM messages, cases, daily_counts, spent_proofs, seen_nonces")
            finally:
                db.autocommit = False

    def _close(self) -> None:
        self.writer.close()
        self._pool.close()
