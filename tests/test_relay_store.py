"""The store on its own, on SQLite and PostgreSQL: group commit, migrations, retention."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from relay.store import (
    MAX_CASE_MESSAGES,
    MIGRATIONS,
    Ack,
    Added,
    Case,
    NewMessage,
    Refused,
    SpentProof,
    SQLStore,
    StoreError,
    Tx,
    Write,
    delete_expired,
    record_ack,
    record_served,
    schema_version,
    secret,
)
from relay.stores import open_store

from .support.stores import open_at_once, run_on_own_loop


def a_case(
    n: int,
    school: str = "lincoln-high",
    day: str = "2026-11-30",
    budget: int = 10**9,
    case: int = 0,
) -> Write:
    """A new case's first message (case n, or the id of case `case` when given), 5 bytes."""
    case_id = f"case-{case or n:06d}"
    first = NewMessage(
        school=school, case_id=case_id, author="public", nonce=f"n{n}", body=f"b{n:04d}", day=day
    )
    return Write(first, budget, opens=Case(case_id, school, auth_hash=bytes(32), case_key="key"))


def concurrently(store: SQLStore, writes: list[Write | tuple[str, Any]]) -> list[Any]:
    """Submit writes from the event loop all at once, as requests do; each outcome."""

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(store.keep(w) if isinstance(w, Write) else store.awrite(w[0], w[1]) for w in writes),
            return_exceptions=True,
        )

    return run_on_own_loop(main())


def test_concurrent_writes_share_commits_and_each_gets_its_answer(store: SQLStore) -> None:
    batches: list[int] = []
    store.batch_sizes.append(batches.append)
    writes: list[Write | tuple[str, Any]] = [
        a_case(n, school=("lincoln-high", "riverside-middle")[n % 2]) for n in range(300)
    ]
    answers: list[Added] = concurrently(store, writes)
    assert len({a.id for a in answers}) == 300 and not any(a.duplicate for a in answers)
    assert sum(batches) == 300
    assert max(batches) > 1  # submissions that waited together committed together
    # Each school's counter counts its own messages, 1 to 150, with no gap.
    assert sorted(a.counted or 0 for a in answers[::2]) == list(range(1, 151))


def test_a_refusal_or_a_failing_job_never_fails_the_rest_of_its_batch(store: SQLStore) -> None:
    store.keep_now(a_case(1))

    def broken(tx: Tx) -> None:
        tx.run("INSERT INTO no_such_table VALUES (1)")

    writes: list[Write | tuple[str, Any]] = []
    for n in range(2, 40):
        writes.append(a_case(n))
        if n == 10:
            writes.append(("", broken))
            writes.append(a_case(1000, case=1))  # the first case's id, another envelope: 409
    outcomes = [
        str(o.status) if isinstance(o, Refused) else "error" if isinstance(o, Exception) else "ok"
        for o in concurrently(store, writes)
    ]
    assert outcomes.count("ok") == 38 and outcomes.count("409") == 1
    assert outcomes.count("error") == 1
    assert store.read(lambda tx: tx.one("SELECT COUNT(*) FROM messages"))[0] == 39


def outcome(answer: Any) -> str:
    if isinstance(answer, Refused):
        return str(answer.status)
    return "duplicate" if answer.duplicate else "new"


def stored_bytes(tx: Tx, school: str) -> int:
    """The school's running total of stored bytes, as the budget counts them."""
    row = tx.one("SELECT bytes FROM school_bytes WHERE school = ?", (school,))
    return int(row[0]) if row else 0


def kept(store: SQLStore, write: Write) -> Added | Refused:
    """keep_now's answer, or its refusal."""
    try:
        return store.keep_now(write)
    except Refused as exc:
        return exc


def a_follow_up(
    n: int,
    case: int,
    budget: int | None = 10**9,
    proof: str = "",
    free: int | None = None,
    day: str = "2026-11-30",
) -> Write:
    """A student's update to case `case` (or a staff message, with budget None), 5 bytes."""
    message = NewMessage(
        school="lincoln-high",
        case_id=f"case-{case:06d}",
        author="student" if budget is not None else "staff",
        nonce=f"n{n}",
        body=f"b{n:04d}",
        day=day,
        proof=SpentProof(proof, 2_000_000_000) if proof else None,
    )
    return Write(message, budget, free_updates=free)


def test_a_batch_crossing_the_budget_stores_exactly_up_to_it(store: SQLStore) -> None:
    store.keep_now(a_case(1, budget=50))
    batches: list[int] = []
    store.batch_sizes.append(batches.append)
    answers = concurrently(store, [a_case(n, budget=50) for n in range(2, 30)])
    assert len(batches) < 5  # set-based: no batch failed and fell back to one job a commit
    assert [outcome(a) for a in answers].count("new") == 9  # 10 bodies of 5 bytes: 50
    assert [outcome(a) for a in answers].count("507") == 19
    assert sorted(a.counted for a in answers if not isinstance(a, Refused)) == list(range(2, 11))
    assert store.read(stored_bytes, "lincoln-high") == 50
    assert store.read(stored_bytes, "riverside-middle") == 0
    # A staff message still lands at the budget (and counts), and the count goes on.
    assert outcome(kept(store, a_follow_up(40, case=1, budget=None))) == "new"
    assert store.read(stored_bytes, "lincoln-high") == 55
    assert outcome(kept(store, a_case(41, budget=59))) == "507"
    assert outcome(kept(store, a_case(42, budget=60, school="riverside-middle"))) == "new"


def test_a_case_has_a_few_free_updates_a_day_then_needs_a_proof(store: SQLStore) -> None:
    store.keep_now(a_case(1))
    free = [kept(store, a_follow_up(n, case=1, free=3)) for n in range(2, 6)]
    assert [outcome(a) for a in free] == ["new", "new", "new", "428"]
    assert outcome(kept(store, a_follow_up(6, case=1, free=3, proof="p1"))) == "new"
    # The next UTC day has its own free updates; a staff message never needs a proof.
    assert outcome(kept(store, a_follow_up(7, case=1, free=3, day="2026-12-01"))) == "new"
    assert outcome(kept(store, a_follow_up(8, case=1, budget=None))) == "new"
    # Updates sent at once are counted one by one: of four, three get in.
    answers = concurrently(
        store, [a_follow_up(n, case=1, free=3, day="2026-12-02") for n in range(10, 14)]
    )
    assert sorted(outcome(a) for a in answers) == ["428", "new", "new", "new"]


def test_retention_gives_back_the_bytes_it_deletes(store: SQLStore) -> None:
    for n in (1, 2):
        store.keep_now(a_case(n, day="2026-01-01"))
    store.keep_now(a_follow_up(3, case=2, budget=None, day="2026-01-01"))
    note = NewMessage("lincoln-high", None, "staff", "n4", "b0004", "2026-01-01")
    store.keep_now(Write(note, None))
    assert store.read(stored_bytes, "lincoln-high") == 20
    store.call("lincoln-high", record_served, "lincoln-high", "dana", 3)
    held = Ack(held=3, seen=None)
    store.call("lincoln-high", record_ack, "lincoln-high", "dana", held, ["dana"], "2026-01-01")
    readers = {"lincoln-high": ["dana"]}
    swept = store.call("", delete_expired, "2026-06-01", 0, readers, "2026-06-01")
    assert swept == 2  # case 1, case 2 and its reply
    assert store.read(stored_bytes, "lincoln-high") == 5  # the note, fetched by no one yet


def test_writes_that_meet_in_a_batch_get_the_answers_they_would_get_one_by_one(
    store: SQLStore,
) -> None:
    """The same envelope, nonce, case or proof twice in one batch, beside plain writes."""
    store.keep_now(a_case(1))
    for n in range(2, 2 + MAX_CASE_MESSAGES - 2):
        store.keep_now(a_follow_up(n, case=1, budget=None))  # case 1: all but one place taken
    writes: list[Write | tuple[str, Any]] = [
        a_case(500),  # new
        a_case(500),  # the same envelope again: the first one's answer
        # the same nonce, another envelope: 409
        dataclasses.replace(
            a_case(500), message=dataclasses.replace(a_case(500).message, body="x")
        ),
        a_case(502),  # new
        a_case(503, case=502),  # another envelope opening case 502: 409
        a_follow_up(504, case=1),  # the case's last place
        a_follow_up(505, case=1),  # full: 409
        a_follow_up(506, case=500, proof="p1"),  # new
        a_follow_up(507, case=502, proof="p1"),  # the same proof again: 428
        *(a_case(n) for n in range(600, 640)),  # new
    ]
    batches: list[int] = []
    store.batch_sizes.append(batches.append)
    answers = concurrently(store, writes)
    assert len(batches) < 5  # set-based: no batch failed and fell back to one job a commit
    assert [outcome(a) for a in answers[:9]] == [
        "new", "duplicate", "409", "new", "409", "new", "409", "new", "428",
    ]  # fmt: skip
    assert {outcome(a) for a in answers[9:]} == {"new"}
    assert answers[1].id == answers[0].id
    stored = store.read(lambda tx: tx.one("SELECT COUNT(*) FROM messages"))[0]
    assert stored == MAX_CASE_MESSAGES - 1 + 1 + 1 + 1 + 1 + 40
    seqs = store.read(lambda tx: tx.all("SELECT seq FROM messages ORDER BY seq"))
    assert [s[0] for s in seqs] == list(range(1, stored + 1))  # no gap, none twice


def test_relays_starting_at_once_migrate_once(store_url: str) -> None:
    """Several relays on one fresh database: each migration and secret is made exactly once."""
    stores = open_at_once(store_url, 4)
    try:
        assert len(stores) == 4
        versions = stores[0].read(lambda tx: tx.all("SELECT version FROM schema_version"))
        assert sorted(v[0] for v in versions) == list(range(1, len(MIGRATIONS) + 1))
        assert len({s.read(secret, "proof") for s in stores}) == 1
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("attempt", range(24))
def test_sqlite_relays_creating_one_file_at_once_all_open(tmp_path: Path, attempt: int) -> None:
    """SQLite refuses to switch a file to WAL while another connection creates it, without
    waiting for its busy timeout; the store waits instead. (Without that wait, about one
    start in eight failed here: 24 starts catch it nearly always.)"""
    stores = open_at_once(f"sqlite:///{tmp_path}/relay.db", 8)
    for s in stores:
        s.close()
    assert len(stores) == 8


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
        store.keep_now(a_case(1))
        seqs = store.read(lambda tx: tx.all("SELECT seq FROM messages ORDER BY seq"))
        assert [s[0] for s in seqs] == [7, 8]
    finally:
        store.close()
