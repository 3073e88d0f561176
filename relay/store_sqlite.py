"""SQLite store: one file, WAL journal, every commit synced before the relay answers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from relay.store import Added, StoredEnvelope, StoreError, new_id, schema

SCHEMA = schema("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER")


class SQLiteStore:
    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the folder {path.parent} does not exist")
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database ({exc})") from None
        self._lock = threading.Lock()

    def add_envelope(
        self, school: str, nonce: str, body: str, day: str, daily_quota: int
    ) -> Added | None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT id, received FROM envelopes WHERE nonce = ?", (nonce,)
                ).fetchone()
                if row is not None:
                    db.execute("ROLLBACK")
                    return Added(id=row[0], received=row[1], duplicate=True)
                counted = db.execute(
                    "INSERT INTO daily_counts (school, day, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (school, day) DO UPDATE SET count = count + 1 "
                    "WHERE daily_counts.count < ? RETURNING count",
                    (school, day, daily_quota),
                ).fetchone()
                if counted is None:
                    db.execute("ROLLBACK")
                    return None
                envelope_id = new_id()
                db.execute(
                    "INSERT INTO envelopes (id, school, nonce, received, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (envelope_id, school, nonce, day, body),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return Added(id=envelope_id, received=day, duplicate=False)

    def list_envelopes(self, school: str, after: int, limit: int) -> list[StoredEnvelope]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, received, body FROM envelopes "
                "WHERE school = ? AND seq > ? ORDER BY seq LIMIT ?",
                (school, after, limit),
            ).fetchall()
        return [StoredEnvelope(seq=r[0], id=r[1], received=r[2], body=r[3]) for r in rows]

    def use_nonce(self, nonce: str, now: int, expires: int) -> bool:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM seen_nonces WHERE expires < ?", (now,))
                inserted = db.execute(
                    "INSERT INTO seen_nonces (nonce, expires) VALUES (?, ?) "
                    "ON CONFLICT (nonce) DO NOTHING",
                    (nonce, expires),
                ).rowcount
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return inserted == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
