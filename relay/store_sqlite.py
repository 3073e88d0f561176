"""SQLite store: one file, WAL journal, every commit synced before the relay answers.

One writer connection, group-committed on the event loop (relay/commit.py,
LoopCommit), and one read connection per reader thread (WAL lets them read
while the writer writes). Writes from outside an event loop (tests, tools) take
the same connection's lock for a transaction of their own.
Deleted rows are overwritten (secure_delete) and a deletion ends with a
checkpoint that empties the write-ahead log, so what retention removes does not
linger in either file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relay.commit import LoopCommit, Many, settle
from relay.store import SQLStore, StoreError, migrate


class _SQLiteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, args).rowcount

    def insert(self, into: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
        # One prepared statement, bound and stepped a row at a time, in C.
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            self.db.executemany(f"{into} VALUES ({marks}) {tail}", rows)


class SQLiteStore(SQLStore):
    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path}: the folder {self.path.parent} does not exist")
        self._connections: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        try:
            self._db = self._connect()
            with self._immediate(self._db) as tx:
                migrate(tx, blob="BLOB", big_int="INTEGER")
        except sqlite3.Error as exc:
            self._close_connections()
            raise StoreError(f"{self.path}: cannot open the database ({exc})") from None
        super().__init__()
        self._write_lock = threading.Lock()
        self._loop_commit = LoopCommit(
            self._begin, self._commit, self._rollback, lock=self._write_lock, on_batch=self._batch
        )

    def submit(self, key: str, many: Many, item: Any) -> Future[Any]:
        """Outside the event loop (tests, tools): a transaction of its own, under the lock."""
        future: Future[Any] = Future()
        with self._write_lock:
            tx = self._begin()
            try:
                (answer,) = many(tx, [item])
                self._commit()
            except BaseException as exc:
                self._rollback()
                settle(future, exc)
                return future
        self._batch(1)
        settle(future, answer)
        return future

    async def asubmit(self, key: str, many: Many, item: Any) -> Any:
        return await self._loop_commit.run(many, item, key)

    def _begin(self) -> _SQLiteTx:
        self._db.execute("BEGIN IMMEDIATE")
        return _SQLiteTx(self._db)

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA secure_delete=ON")
        with self._lock:
            self._connections.append(db)
        return db

    @contextmanager
    def _immediate(self, db: sqlite3.Connection) -> Iterator[_SQLiteTx]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteTx(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def read_transaction(self) -> Iterator[_SQLiteTx]:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        db.execute("BEGIN")
        try:
            yield _SQLiteTx(db)
        finally:
            db.execute("ROLLBACK")

    def purge(self) -> None:
        with sqlite3.connect(self.path, isolation_level=None) as db:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # sqlite3's context manager does not close the connection.
        db.close()

    def _close(self) -> None:
        with self._write_lock:
            self._close_connections()

    def _close_connections(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
