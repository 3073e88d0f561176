"""SQLite store: one file, WAL journal, every commit synced before the relay answers."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relay.store import SQLStore, StoreError, migration_scripts


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


class SQLiteStore(SQLStore):
    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the folder {path.parent} does not exist")
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database ({exc})") from None
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for number, sql in migration_scripts(blob="BLOB", big_int="INTEGER"):
                if number > current:
                    for statement in filter(str.strip, sql.split(";")):
                        db.execute(statement)
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[_SQLiteTx]:
        # SQLite has one writer at a time; BEGIN IMMEDIATE takes that lock for every school.
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTx(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
