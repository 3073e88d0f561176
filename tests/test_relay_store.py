"""The store on its own, on SQLite and PostgreSQL: group commit, migrations, retention."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay.store import (
    MIGRATIONS,
    Added,
    Case,
    NewMessage,
    Refused,
    SQLStore,
    StoreError,
    Tx,
    open_case,
    open_store,
    schema_version,
    secret,
)

from .helpers import run_on_own_loop


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    s = open_store(store_url)
    yield s
    s.close()


def a_case(
    n: int, school: str = "lincoln-high", day: str = "2026-11-30"
) -> tuple[Case, NewMessage]:
    case_id = f"case-{n:06d}"
    case = Case(case_id=case_id, school=school, auth_hash=bytes(32), case_key="key")
    first = NewMessage(
        school=school, case_id=case_id, author="public", nonce=f"n{n}", body=f"b{n}", day=day
    )
    return case, first


def concurrently(store: SQLStore, writes: list[tuple[str, Any, tuple[Any, ...]]]) -> list[Any]:
    """Submit writes from the event loop all at once, as requests do; each outcome."""

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(store.awrite(key, job, *args) for key, job, args in writes), return_exceptions=True
        )

    return run_on_own_loop(main())


def test_concurrent_writes_share_commits_and_each_gets_its_answer(store: SQLStore) -> None:
    batches: list[int] = []
    store.batch_sizes.append(batches.append)
    writes = []
    for n in range(300):
        case, first = a_case(n, school=("lincoln-high", "riverside-middle")[n % 2])
        writes.append((case.school, open_case, (case, first, 10_000)))
    answers: list[Added] = concurrently(store, writes)
    assert len({a.id for a in answers}) == 300 and not any(a.duplicate for a in answers)
    assert sum(batches) == 300
    assert max(batches) > 1  # submissions that waited together committed together
    # Each school's counter counts its own messages, 1 to 150, with no gap.
    assert sorted(a.counted or 0 for a in answers[::2]) == list(range(1, 151))


def test_a_refusal_or_a_failing_job_never_fails_the_rest_of_its_batch(store: SQLStore) -> None:
    case, first = a_case(1)
    store.call(case.school, open_case, case, first, 100)

    def broken(tx: Tx) -> None:
        tx.run("INSERT INTO no_such_table VALUES (1)")

    writes: list[tuple[str, Any, tuple[Any, ...]]] = []
    for n in range(2, 40):
        case, first = a_case(n)
        writes.append((case.school, open_case, (case, first, 100)))
        if n == 10:
            writes.append(("", broken, ()))
            again, _ = a_case(1)  # the first case's id again, with another envelope: 409
            _, other = a_case(1000)
            writes.append((again.school, open_case, (again, other, 100)))
    outcomes = [
        str(o.status) if isinstance(o, Refused) else "error" if isinstance(o, Exception) else "ok"
        for o in concurrently(store, writes)
    ]
    assert outcomes.count("ok") == 38 and outcomes.count("409") == 1
    assert outcomes.count("error") == 1
    assert store.read(lambda tx: tx.one("SELECT COUNT(*) FROM messages"))[0] == 39


def test_relays_starting_at_once_migrate_once(store_url: str) -> None:
    """Several relays on one fresh database: each migration and secret is made exactly once."""
    barrier = threading.Barrier(4)
    stores: list[SQLStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            s = open_store(store_url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        else:
            stores.append(s)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(stores) == 4
        versions = stores[0].read(lambda tx: tx.all("SELECT version FROM schema_version"))
        assert sorted(v[0] for v in versions) == list(range(1, len(MIGRATIONS) + 1))
        assert len({s.read(secret, "proof") for s in stores}) == 1
    finally:
        for s in stores:
            s.close()


def test_a_database_from_a_newer_relay_is_refused(store_url: str) -> None:
    first = open_store(store_url)
    assert first.read(schema_version) == len(MIGRATIONS)
    first.call("", lambda tx: tx.run("INSERT INTO schema_version (version) VALUES (99)"))
    first.close()
    with pytest.raises(StoreError, match="newer than this relay"):
        open_store(store_url)


def test_migrating_an_old_database_keeps_its_cursors(tmp_path: Path) -> None:
    """A version-2 database (before school counters) keeps counting from its last cursor."""
    import sqlite3

    from relay.store import migration_scripts

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, sql in migration_scripts("BLOB", "INTEGER"):
            if number <= 2:
                db.executescript(sql)
                db.execute("INSERT INTO schema_version VALUES (?)", (number,))
        db.execute(
            "INSERT INTO messages (school, seq, id, author, nonce, received, body) "
            "VALUES ('lincoln-high', 7, 'x', 'staff', 'n', '2026-11-30', '{}')"
        )
    db.close()
    store = open_store(f"sqlite:///{path}")
    try:
        case, first = a_case(1)
        store.call(case.school, open_case, case, first, 100)
        seqs = store.read(lambda tx: tx.all("SELECT seq FROM messages ORDER BY seq"))
        assert [s[0] for s in seqs] == [7, 8]
    finally:
        store.close()
