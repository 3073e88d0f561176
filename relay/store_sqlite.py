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
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relay.commit import LoopCommit, Many, settle
from relay.store import SQLStore, StoreError, migrate

BUSY_TIMEOUT_MS = 10_000  # how long a connection waits for another's lock


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
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _write_ahead_log(db)
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
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
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


def _write_ahead_log(db: sqlite3.Connection) -> None:
    """Put the database in WAL mode, waiting for other connections as a busy timeout would.

    While another connection creates the file or switches it to WAL (several relays
    starting on a new database), SQLite answers this pragma "database is locked" at
    once, without waiting for the busy timeout; so wait here, up to the same time.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
