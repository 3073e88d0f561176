"""PostgreSQL store, for several stateless relay instances sharing one database.

Inserts for one school take a transaction-scoped advisory lock, so envelope
sequence numbers of a school commit in order and a staff member reading with
`after=SEQ` can never skip one that committed late.
"""

from __future__ import annotations

import threading

import psycopg

from relay.store import Added, StoredEnvelope, StoreError, new_id, schema

SCHEMA = schema("BIGSERIAL PRIMARY KEY", "BIGINT")


class PostgresStore:
    def __init__(self, url: str) -> None:
        try:
            self._db = psycopg.connect(url, autocommit=False, connect_timeout=10)
            with self._db.transaction():
                # Several instances may start at once; serialise the schema set-up.
                self._db.execute("SELECT pg_advisory_xact_lock(7427466391)")
                self._db.execute(SCHEMA)
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())
            raise StoreError(f"cannot use the PostgreSQL database ({detail})") from None
        self._lock = threading.Lock()

    def add_envelope(
        self, school: str, nonce: str, body: str, day: str, daily_quota: int
    ) -> Added | None:
        with self._lock, self._db.transaction():
            db = self._db
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (school,))
            row = db.execute(
                "SELECT id, received FROM envelopes WHERE nonce = %s", (nonce,)
            ).fetchone()
            if row is not None:
                return Added(id=row[0], received=row[1], duplicate=True)
            counted = db.execute(
                "INSERT INTO daily_counts (school, day, count) VALUES (%s, %s, 1) "
                "ON CONFLICT (school, day) DO UPDATE SET count = daily_counts.count + 1 "
                "WHERE daily_counts.count < %s RETURNING count",
                (school, day, daily_quota),
            ).fetchone()
            if counted is None:
                return None
            envelope_id = new_id()
            db.execute(
                "INSERT INTO envelopes (id, school, nonce, received, body) "
                "VALUES (%s, %s, %s, %s, %s)",
                (envelope_id, school, nonce, day, body),
            )
        return Added(id=envelope_id, received=day, duplicate=False)

    def list_envelopes(self, school: str, after: int, limit: int) -> list[StoredEnvelope]:
        with self._lock, self._db.transaction():
            rows = self._db.execute(
                "SELECT seq, id, received, body FROM envelopes "
                "WHERE school = %s AND seq > %s ORDER BY seq LIMIT %s",
                (school, after, limit),
            ).fetchall()
        return [StoredEnvelope(seq=r[0], id=r[1], received=r[2], body=r[3]) for r in rows]

    def use_nonce(self, nonce: str, now: int, expires: int) -> bool:
        with self._lock, self._db.transaction():
            self._db.execute("DELETE FROM seen_nonces WHERE expires < %s", (now,))
            cur = self._db.execute(
                "INSERT INTO seen_nonces (nonce, expires) VALUES (%s, %s) "
                "ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires),
            )
            inserted = cur.rowcount
        return inserted == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
