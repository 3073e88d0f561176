"""Storage for the relay: cases, their ciphertext messages, daily counts, seen nonces.

The logic (dedupe, then quota, then insert) and the SQL are written once here,
as jobs: functions of an open transaction. Writes go through a group commit
(relay/commit.py), so concurrent submissions share one durable commit, and
messages are written set-based, a few statements for a whole batch; reads run
in a read transaction. The SQLite and PostgreSQL back ends supply only
their connections, transactions and two column types. Nothing stored says
anything about the sender: no address, no user agent, no time finer than the
UTC day (a spent proof of work and a pending notice keep a coarse expiry, and
only until it passes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

from relay.commit import Many, Refused, each
from relay.errors import RelayError
from relay.escalation_store import Opening, open_escalations

Author = Literal["public", "student", "staff"]
MAX_CASE_MESSAGES = 200  # a conversation longer than this is refused, so a read stays bounded
P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["Refused"]  # raised by the jobs below; defined with the group commit


class StoreError(RelayError):
    """A store that cannot be opened or used; the message says what to check."""


@dataclass(frozen=True)
class Case:
    case_id: str  # base64url, as on the wire
    school: str
    auth_hash: bytes
    case_key: str  # key id (base64url) of the case's own key, sealed to in every case message


@dataclass(frozen=True)
class Message:
    seq: int  # per school: a school's cursor, which says nothing of other schools' volumes
    id: str
    school: str
    case_id: str | None  # None for staff notes, which belong to no case on the relay
    author: Author
    received: str  # UTC day, YYYY-MM-DD
    body: str  # the envelope as canonical JSON


@dataclass(frozen=True)
class Added:
    id: str
    received: str
    duplicate: bool  # the same envelope (same nonce, same bytes) was stored before
    counted: int | None = None  # the school's count for the day after this one, if it counts


@dataclass(frozen=True)
class Notice:
    """One recipient, by one channel, to be told that a school has something new.

    due is the end of the window the message arrived in (Unix seconds): the only time
    a notice holds, and no finer than the window.
    """

    recipient: str
    channel: str
    school: str
    due: int
    attempts: int = 0


@dataclass(frozen=True)
class SpentProof:
    """A proof of work to spend with a message: its challenge's nonce, until it expires."""

    nonce: str
    expires: int  # Unix seconds, rounded up to ten minutes


@dataclass(frozen=True)
class NewMessage:
    """What the relay asks the store to keep: the envelope and where it belongs."""

    school: str
    case_id: str | None
    author: Author
    nonce: str
    body: str
    day: str
    proof: SpentProof | None = None


@dataclass(frozen=True)
class Write:
    """A message to keep, with the case it opens (a first message), its limits and notices.

    budget: a student's message is refused (507) when it would take the school's stored
    bytes past this; a staff message (None) is never refused for it, but counts.
    free_updates: a student's update without a proof of work is refused (428) when the
    case already had this many students' updates that day (None: no limit).
    """

    message: NewMessage
    budget: int | None  # a student's message counts towards the day; staff's do not
    notices: Sequence[Notice] = ()
    opens: Case | None = None
    free_updates: int | None = None
    escalation: Opening | None = None  # a student's message opens (or extends) an escalation


MIGRATIONS: Sequence[str] = (
    # 1: cases and their messages, per-school sequence numbers.
    """
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    auth_hash {blob} NOT NULL,
    case_key TEXT NOT NULL,
    opened TEXT NOT NULL,
    last_day TEXT NOT NULL
);
CREATE TABLE messages (
    school TEXT NOT NULL,
    seq {big_int} NOT NULL,
    id TEXT NOT NULL UNIQUE,
    case_id TEXT REFERENCES cases (case_id),
    author TEXT NOT NULL,
    nonce TEXT NOT NULL UNIQUE,
    received TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (school, seq)
);
CREATE INDEX messages_case ON messages (case_id, seq);
CREATE TABLE daily_counts (
    school TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (school, day)
);
CREATE TABLE seen_nonces (
    nonce TEXT PRIMARY KEY,
    expires {big_int} NOT NULL
);
""",
    # 2: notices waiting to be sent; a row lives from a message's commit to its delivery.
    """
CREATE TABLE notices (
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    school TEXT NOT NULL,
    due {big_int} NOT NULL,
    next_try {big_int} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (recipient, channel, school, due)
);
""",
    # 3: a school's cursor outlives its deleted messages; what each reader has fetched, and
    # the day every reader had a message (retention counts from it); spent proofs of work;
    # the relays' shared secrets.
    """
CREATE TABLE school_seq (
    school TEXT PRIMARY KEY,
    last {big_int} NOT NULL
);
INSERT INTO school_seq (school, last) SELECT school, MAX(seq) FROM messages GROUP BY school;
CREATE TABLE fetched (
    school TEXT NOT NULL,
    reader TEXT NOT NULL,
    cursor {big_int} NOT NULL,
    PRIMARY KEY (school, reader)
);
ALTER TABLE messages ADD COLUMN fetched_day TEXT;
CREATE INDEX messages_unfetched ON messages (school, seq) WHERE fetched_day IS NULL;
CREATE TABLE spent_proofs (
    nonce TEXT PRIMARY KEY,
    expires {big_int} NOT NULL
);
CREATE TABLE relay_secrets (
    name TEXT PRIMARY KEY,
    value {blob} NOT NULL
);
""",
    # 4 (protocol version 2): facts written once (v2_since); per reader, the highest cursor
    # served and the acknowledgments (fetched.cursor is now `held`). A cursor a version-1
    # key tool asked `after` proves nothing, so nothing counts as held until a version-2
    # key tool says so.
    """
CREATE TABLE relay_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE fetched ADD COLUMN served {big_int} NOT NULL DEFAULT 0;
ALTER TABLE fetched ADD COLUMN seen {big_int} NOT NULL DEFAULT 0;
ALTER TABLE fetched ADD COLUMN held_day TEXT;
UPDATE fetched SET served = cursor, cursor = 0;
UPDATE messages SET fetched_day = NULL WHERE fetched_day IS NOT NULL;
""",
    # 5: each school's stored bytes (its messages' bodies), kept as a running total so the
    # storage budget costs one row a write; retention subtracts what it deletes.
    """
CREATE TABLE school_bytes (
    school TEXT PRIMARY KEY,
    bytes {big_int} NOT NULL
);
INSERT INTO school_bytes (school, bytes)
SELECT school, SUM(LENGTH(body)) FROM messages GROUP BY school;
""",
    # 6: the escalation ladder: each school's open escalation (until a `seen` covers its
    # cursor), the outbox of its alerts (until delivered), and per school and month how many
    # escalations climbed past the first tier (kept 13 months).
    """
CREATE TABLE escalations (
    school TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    started {big_int} NOT NULL,
    cursor {big_int} NOT NULL,
    tier INTEGER NOT NULL,
    tier_since {big_int} NOT NULL,
    next_step {big_int} NOT NULL,
    steps INTEGER NOT NULL,
    urgent INTEGER NOT NULL,
    urgent_window {big_int} NOT NULL,
    paged TEXT NOT NULL
);
CREATE INDEX escalations_due ON escalations (next_step);
CREATE TABLE alerts (
    dedup_key TEXT NOT NULL,
    step INTEGER NOT NULL,
    target TEXT NOT NULL,
    school TEXT NOT NULL,
    action TEXT NOT NULL,
    waited INTEGER NOT NULL,
    at {big_int} NOT NULL,
    next_try {big_int} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dedup_key, step, target)
);
CREATE TABLE escalation_months (
    school TEXT NOT NULL,
    month TEXT NOT NULL,
    climbed INTEGER NOT NULL,
    PRIMARY KEY (school, month)
);
""",
)
SECRETS = ("proof",)  # made once, at the first start, and shared by every relay of the database


class Tx(Protocol):
    """One open transaction: statements with ? placeholders, rows as tuples."""

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...
    def insert(self, into: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
        """`into VALUES (?, ...) tail` for each row, in the way the back end does fastest."""


class SQLStore:
    """The relay's storage: group-committed writes and pooled reads; a back end opens both."""

    kind = ""  # "sqlite" or "postgresql", for the log and metrics

    def __init__(self, readers: int = 4) -> None:
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="relay-reader")
        self.batch_sizes: list[Callable[[int], None]] = []  # told each committed batch's size

    # --- what a back end supplies --------------------------------------------

    def submit(self, key: str, many: Many, item: Any) -> Future[Any]:
        """A write from any thread: the answer of `many` for item, once committed.

        key (a school, or "") orders a batch's items, so locks are taken in one order.
        """
        raise NotImplementedError

    async def asubmit(self, key: str, many: Many, item: Any) -> Any:
        """A write from the event loop, group-committed with the others waiting."""
        raise NotImplementedError

    def read_transaction(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def purge(self) -> None:
        """Make deleted rows unrecoverable from the database files (after a deletion)."""
        raise NotImplementedError

    def _close(self) -> None:
        """Finish the writes under way and close every connection."""
        raise NotImplementedError

    # --- running jobs --------------------------------------------------------

    def _batch(self, size: int) -> None:
        for observe in self.batch_sizes:
            observe(size)

    def call(
        self, key: str, job: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A write, waited for: its result once it is committed (or its refusal)."""
        result: T = self.submit(key, each, lambda tx: job(tx, *args, **kwargs)).result()
        return result

    async def awrite(
        self, key: str, job: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A write from the event loop: its result once it is committed (or its refusal)."""
        result: T = await self.asubmit(key, each, lambda tx: job(tx, *args, **kwargs))
        return result

    async def keep(self, write: Write) -> Added:
        """Keep a message, written set-based with the others waiting; Refused says why not."""
        added: Added = await self.asubmit(write.message.school, store_messages, write)
        return added

    def read(self, job: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self.read_transaction() as tx:
            return job(tx, *args, **kwargs)

    async def aread(
        self, job: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(self.read, job, *args, **kwargs)
        return await loop.run_in_executor(self._readers, call)

    def close(self) -> None:
        """Commit what is queued, then close every connection."""
        self._readers.shutdown(wait=True)
        self._close()

    # --- the conveniences the notices and tests use ---------------------------

    def keep_now(self, write: Write) -> Added:
        added: Added = self.submit(write.message.school, store_messages, write).result()
        return added

    def pending_notices(self) -> int:
        return self.read(pending_notices)


# --- writes: an item is refused before anything of it is written, or written ------------


FULL = "this school's inbox is full right now; please call or text the hotline"


def store_messages(tx: Tx, writes: list[Write]) -> list[Added | Refused]:
    """Keep a batch of messages, set-based: a few statements a batch, not a few a message.

    Each write is checked as if it ran alone, in order: a retry of a stored envelope
    to the same case gets the first answer (another envelope with its nonce, or the same
    envelope to another case or as another new case, 409); a new case must not
    exist yet (409); a case takes at most MAX_CASE_MESSAGES (409); a proof of work is
    spent once (428); a student's update beyond the case's free ones today needs one
    (428); a student's message must fit the school's storage budget (507). Students'
    messages count towards the school's day (never refused for it). Notices are written
    in the same transaction, so a relay that dies after answering still sends them when
    it starts again. Writes that meet one another in the batch (the same nonce, case or
    proof twice) go to a next round, which sees what this one wrote: so the answers are
    those of the writes run one by one.
    """
    answers: dict[int, Added | Refused] = {}
    later: list[int] = []
    ready: list[int] = []
    nonces = {w.message.nonce for w in writes}
    stored = {
        row[0]: row[1:]
        for row in _where_in(
            tx, "SELECT nonce, id, received, body, case_id FROM messages", "nonce", nonces
        )
    }
    opened = {w.opens.case_id for w in writes if w.opens is not None}
    clashing = {row[0] for row in _where_in(tx, "SELECT case_id FROM cases", "case_id", opened)}
    proofs = {w.message.proof.nonce for w in writes if w.message.proof is not None}
    spent = {row[0] for row in _where_in(tx, "SELECT nonce FROM spent_proofs", "nonce", proofs)}
    followed = {
        w.message.case_id for w in writes if w.opens is None and w.message.case_id is not None
    }
    sizes: dict[str, int] = {}
    updates: dict[tuple[str, str], int] = {}  # (case, day): students' updates that day
    for case_id, author, day, count in _where_in(
        tx,
        "SELECT case_id, author, received, COUNT(*) FROM messages",
        "case_id",
        followed,
        "GROUP BY case_id, author, received",
    ):
        sizes[case_id] = sizes.get(case_id, 0) + int(count)
        if author == "student":
            updates[(case_id, day)] = int(count)
    room = _room(tx, writes)
    taken: set[tuple[str, str]] = set()  # (what, key) a write of this round already uses
    for index, w in enumerate(writes):
        m = w.message
        if m.nonce in stored:
            stored_id, received, body, case_id = stored[m.nonce]
            if body != m.body:
                answers[index] = Refused(409, "another envelope was sent with this nonce")
            elif case_id != m.case_id:
                answers[index] = Refused(409, "this envelope was sent before, to another case")
            else:
                answers[index] = Added(id=stored_id, received=received, duplicate=True)
            continue
        uses = {("nonce", m.nonce)}
        if m.case_id is not None:
            uses.add(("case", m.case_id))
        if m.proof is not None:
            uses.add(("proof", m.proof.nonce))
        if uses & taken:
            later.append(index)
            continue
        if w.opens is not None and w.opens.case_id in clashing:
            answers[index] = Refused(409, "a case with this id exists; start a new report")
        elif w.opens is None and sizes.get(m.case_id or "", 0) >= MAX_CASE_MESSAGES:
            answers[index] = Refused(409, "this conversation is full; please start a new report")
        elif m.proof is not None and m.proof.nonce in spent:
            answers[index] = Refused(
                428, "this proof of work was used before; solve a new challenge"
            )
        elif (
            w.free_updates is not None
            and m.proof is None
            and updates.get((m.case_id or "", m.day), 0) >= w.free_updates
        ):
            answers[index] = Refused(
                428, "send a solved challenge in the X-QD-Proof header: many updates today"
            )
        elif w.budget is not None and room.get(m.school, 0) - len(m.body) < 0:
            answers[index] = Refused(507, FULL)
        else:
            taken |= uses
            ready.append(index)
            room[m.school] = room.get(m.school, 0) - len(m.body)
    kept = [writes[i] for i in ready]
    counted = _count(tx, kept)
    tx.insert(
        "INSERT INTO spent_proofs (nonce, expires)",
        [(w.message.proof.nonce, w.message.proof.expires) for w in kept if w.message.proof],
    )
    tx.insert(
        "INSERT INTO cases (case_id, school, auth_hash, case_key, opened, last_day)",
        [
            (c.case_id, c.school, c.auth_hash, c.case_key, w.message.day, w.message.day)
            for w in kept
            if (c := w.opens) is not None
        ],
    )
    days: dict[str, set[str]] = {}
    for w in kept:
        if w.opens is None and w.message.case_id is not None:
            days.setdefault(w.message.day, set()).add(w.message.case_id)
    for day, cases in sorted(days.items()):
        _where_in(tx, "UPDATE cases SET last_day = ?", "case_id", cases, first=(day,))
    tx.insert(
        "INSERT INTO notices (recipient, channel, school, due, next_try)",
        sorted({(n.recipient, n.channel, n.school, n.due, n.due) for w in kept for n in w.notices}),
        "ON CONFLICT DO NOTHING",
    )
    for index, added, count in zip(ready, _insert_messages(tx, kept), counted, strict=True):
        answers[index] = dataclasses.replace(added, counted=count)
    open_escalations(tx, [w.escalation for w in kept if w.escalation is not None])
    if later:  # a next round sees what this one wrote
        again = store_messages(tx, [writes[i] for i in later])
        answers.update(zip(later, again, strict=True))
    return [answers[i] for i in range(len(writes))]


def _room(tx: Tx, writes: list[Write]) -> dict[str, int]:
    """Bytes each school of the batch may still store for students (budget minus stored)."""
    budgets: dict[str, int] = {}
    for w in writes:
        if w.budget is not None:
            budgets[w.message.school] = w.budget
    for school in sorted(budgets):  # lock each school's total first (in order: no deadlock),
        # so that two relays sharing PostgreSQL cannot both fit the last message in
        tx.run("UPDATE school_bytes SET bytes = bytes WHERE school = ?", (school,))
    stored = dict(_where_in(tx, "SELECT school, bytes FROM school_bytes", "school", set(budgets)))
    return {school: budget - int(stored.get(school, 0)) for school, budget in budgets.items()}


def _count(tx: Tx, kept: list[Write]) -> list[int | None]:
    """Count students' messages towards their school's day, and every body towards its
    school's bytes: a statement per school (and day). Each write's count for the day
    after it, or None for a staff message (which does not count)."""
    days: dict[tuple[str, str], list[int]] = {}
    sizes: dict[str, int] = {}
    for index, w in enumerate(kept):
        sizes[w.message.school] = sizes.get(w.message.school, 0) + len(w.message.body)
        if w.budget is not None:
            days.setdefault((w.message.school, w.message.day), []).append(index)
    for school, size in sorted(sizes.items()):
        tx.run(
            "INSERT INTO school_bytes (school, bytes) VALUES (?, ?) "
            "ON CONFLICT (school) DO UPDATE SET bytes = school_bytes.bytes + ?",
            (school, size, size),
        )
    counted: list[int | None] = [None] * len(kept)
    for (school, day), indexes in sorted(days.items()):
        k = len(indexes)
        row = tx.one(
            "INSERT INTO daily_counts (school, day, count) VALUES (?, ?, ?) "
            "ON CONFLICT (school, day) DO UPDATE SET count = daily_counts.count + ? "
            "RETURNING count",
            (school, day, k, k),
        )
        assert row is not None  # noqa: S101 - an upsert with RETURNING returns its row
        for offset, index in enumerate(indexes):
            counted[index] = int(row[0]) - k + 1 + offset
    return counted


def _insert_messages(tx: Tx, kept: list[Write]) -> list[Added]:
    """Insert messages, numbered per school: a statement per school, and one for them all.

    The school's counter row stays locked until the commit, so a school's cursors
    commit in order even across relays: a reader never skips one that commits late.
    """
    schools: dict[str, list[int]] = {}
    for index, w in enumerate(kept):
        schools.setdefault(w.message.school, []).append(index)
    seqs = [0] * len(kept)
    for school, indexes in sorted(schools.items()):
        k = len(indexes)
        row = tx.one(
            "INSERT INTO school_seq (school, last) VALUES (?, ?) "
            "ON CONFLICT (school) DO UPDATE SET last = school_seq.last + ? RETURNING last",
            (school, k, k),
        )
        assert row is not None  # noqa: S101 - an upsert with RETURNING returns its row
        for offset, index in enumerate(indexes):
            seqs[index] = int(row[0]) - k + 1 + offset
    ids = [new_id() for _ in kept]
    tx.insert(
        "INSERT INTO messages (school, seq, id, case_id, author, nonce, received, body)",
        [
            (
                w.message.school,
                seq,
                message_id,
                w.message.case_id,
                w.message.author,
                w.message.nonce,
                w.message.day,
                w.message.body,
            )
            for w, seq, message_id in zip(kept, seqs, ids, strict=True)
        ],  # fmt: skip
    )
    return [
        Added(id=message_id, received=w.message.day, duplicate=False)
        for w, message_id in zip(kept, ids, strict=True)
    ]


def _where_in(
    tx: Tx,
    statement: str,
    column: str,
    values: set[str],
    tail: str = "",
    first: tuple[Any, ...] = (),
) -> list[tuple[Any, ...]]:
    """Rows of `statement WHERE column IN (values) tail`; none asked for, no query.

    first: the arguments of the placeholders in statement itself (an UPDATE's values).
    """
    if not values:
        return []
    marks = ", ".join("?" * len(values))
    sql = f"{statement} WHERE {column} IN ({marks}) {tail}"  # noqa: S608 - our own text
    if statement.startswith("SELECT"):
        return tx.all(sql, sorted(values))
    tx.run(sql, (*first, *sorted(values)))
    return []


def use_nonce(tx: Tx, nonce: str, now: int, expires: int) -> bool:
    """Record a staff request nonce; False if it was seen before (a replay)."""
    tx.run("DELETE FROM seen_nonces WHERE expires < ?", (now,))
    inserted = tx.run(
        "INSERT INTO seen_nonces (nonce, expires) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
        (nonce, expires),
    )
    return inserted == 1


def claim_notices(tx: Tx, now: int, delay: Callable[[int], int]) -> list[Notice]:
    """The notices due now, each claimed (its next try moved on) so one relay sends it.

    A claim is a conditional update: of several relays that saw the row, only the
    one whose update still finds the old next_try gets it.
    """
    claimed = []
    rows = tx.all(
        "SELECT recipient, channel, school, due, next_try, attempts FROM notices "
        "WHERE next_try <= ? ORDER BY due LIMIT 500",
        (now,),
    )
    for recipient, channel, school, due, next_try, attempts in rows:
        tries = attempts + 1
        won = tx.run(
            "UPDATE notices SET next_try = ?, attempts = ? WHERE recipient = ? "
            "AND channel = ? AND school = ? AND due = ? AND next_try = ?",
            (now + delay(tries), tries, recipient, channel, school, due, next_try),
        )
        if won == 1:
            claimed.append(Notice(recipient, channel, school, due, tries))
    return claimed


def finish_notices(tx: Tx, notices: Sequence[Notice]) -> None:
    for n in notices:
        tx.run(
            "DELETE FROM notices WHERE recipient = ? AND channel = ? AND school = ? AND due = ?",
            (n.recipient, n.channel, n.school, n.due),
        )


def record_served(tx: Tx, school: str, reader: str, upto: int) -> None:
    """The relay answered a reader with messages up to this cursor: acks are capped at it."""
    tx.run(
        "INSERT INTO fetched (school, reader, cursor, served) VALUES (?, ?, 0, ?) "
        "ON CONFLICT (school, reader) DO UPDATE SET served = excluded.served "
        "WHERE fetched.served < excluded.served",
        (school, reader, upto),
    )


@dataclass(frozen=True)
class Ack:
    """What a reader acknowledges: None leaves a value as it is."""

    held: int | None
    seen: int | None


def record_ack(
    tx: Tx, school: str, reader: str, ack: Ack, readers: Sequence[str], day: str
) -> tuple[int, int]:
    """Record a reader's acknowledgment, capped at what it was served; (held, seen) now.

    Values only go up. When every current reader of the school holds a message, the
    message is marked fetched on this day; retention counts from the later of that
    day and the case's last message.
    """
    row = tx.one(
        "SELECT cursor, served, seen, held_day FROM fetched WHERE school = ? AND reader = ?",
        (school, reader),
    )
    held, served, seen, held_day = 0, 0, 0, None
    if row is not None:
        held, served, seen, held_day = int(row[0]), int(row[1]), int(row[2]), row[3]
    if ack.held is not None:
        held, held_day = max(held, min(ack.held, served)), day
    if ack.seen is not None:
        seen = max(seen, min(ack.seen, served))
    tx.run(
        "INSERT INTO fetched (school, reader, cursor, served, seen, held_day) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (school, reader) DO UPDATE SET "
        "cursor = excluded.cursor, seen = excluded.seen, held_day = excluded.held_day",
        (school, reader, held, served, seen, held_day),
    )
    everyone = held_floor(tx, school, readers)
    if ack.held is not None and everyone > 0:
        tx.run(
            "UPDATE messages SET fetched_day = ? "
            "WHERE school = ? AND seq <= ? AND fetched_day IS NULL",
            (day, school, everyone),
        )
    return held, seen


def held_floor(tx: Tx, school: str, readers: Sequence[str]) -> int:
    """The cursor every one of these readers holds (0 when one holds nothing)."""
    held = dict(tx.all("SELECT reader, cursor FROM fetched WHERE school = ?", (school,)))
    return min((int(held.get(r, 0)) for r in readers), default=0)


def follow_readers(tx: Tx, readers: Mapping[str, Sequence[str]], today: str) -> None:
    """Mark as fetched what a school's current readers all hold, and only that.

    Run before each sweep, so retention follows the config as it is now: a recipient
    added unmarks what they do not hold; one removed marks, from today, what the
    others hold.
    """
    for school in sorted({row[0] for row in tx.all("SELECT DISTINCT school FROM fetched")}):
        floor = held_floor(tx, school, readers.get(school, ()))
        tx.run(
            "UPDATE messages SET fetched_day = NULL "
            "WHERE school = ? AND seq > ? AND fetched_day IS NOT NULL",
            (school, floor),
        )
        tx.run(
            "UPDATE messages SET fetched_day = ? "
            "WHERE school = ? AND seq <= ? AND fetched_day IS NULL",
            (today, school, floor),
        )


def delete_expired(
    tx: Tx, cutoff: str, now: int, readers: Mapping[str, Sequence[str]], today: str
) -> int:
    """Delete what every current reader holds and nobody touched since cutoff; how many cases.

    readers: each school's current readers (the config now). A case goes when each of
    its messages was held by every reader of its school on
    or before cutoff, and its last message came on or before cutoff; a staff note when
    it was fetched and written by then. What a reader has not fetched is never deleted.
    Daily counts before the cutoff and expired proofs and nonces go too; the schools'
    stored bytes go down by what was deleted.
    """
    follow_readers(tx, readers, today)
    expired = [
        row[0]
        for row in tx.all(
            "SELECT c.case_id FROM cases c JOIN messages m ON m.case_id = c.case_id "
            "WHERE c.last_day <= ? GROUP BY c.case_id "
            "HAVING COUNT(m.fetched_day) = COUNT(*) AND MAX(m.fetched_day) <= ? LIMIT 1000",
            (cutoff, cutoff),
        )
    ]
    notes = "case_id IS NULL AND fetched_day <= ? AND received <= ?"
    freed = _where_in(
        tx,
        "SELECT school, SUM(LENGTH(body)) FROM messages",
        "case_id",
        set(expired),
        "GROUP BY school",
    ) + tx.all(
        f"SELECT school, SUM(LENGTH(body)) FROM messages WHERE {notes} GROUP BY school",  # noqa: S608
        (cutoff, cutoff),
    )
    for case_id in expired:
        tx.run("DELETE FROM messages WHERE case_id = ?", (case_id,))
        tx.run("DELETE FROM cases WHERE case_id = ?", (case_id,))
    tx.run(f"DELETE FROM messages WHERE {notes}", (cutoff, cutoff))  # noqa: S608 - our own text
    for school, size in sorted(freed):
        tx.run("UPDATE school_bytes SET bytes = bytes - ? WHERE school = ?", (int(size), school))
    tx.run("DELETE FROM daily_counts WHERE day < ?", (cutoff,))
    tx.run("DELETE FROM spent_proofs WHERE expires < ?", (now,))
    tx.run("DELETE FROM seen_nonces WHERE expires < ?", (now,))
    year, month = int(today[:4]), int(today[5:7])
    tx.run("DELETE FROM escalation_months WHERE month < ?", (f"{year - 1:04}-{month:02}",))
    return len(expired)


# --- reads -----------------------------------------------------------------------


def find_case(tx: Tx, case_id: str) -> Case | None:
    row = tx.one(
        "SELECT case_id, school, auth_hash, case_key FROM cases WHERE case_id = ?", (case_id,)
    )
    if row is None:
        return None
    return Case(case_id=row[0], school=row[1], auth_hash=bytes(row[2]), case_key=row[3])


def case_messages(tx: Tx, case_id: str) -> list[Message]:
    rows = tx.all(
        "SELECT seq, id, school, case_id, author, received, body FROM messages "
        "WHERE case_id = ? ORDER BY seq LIMIT ?",
        (case_id, MAX_CASE_MESSAGES),
    )
    return [Message(*row) for row in rows]


def school_messages(tx: Tx, school: str, after: int, limit: int) -> list[Message]:
    rows = tx.all(
        "SELECT seq, id, school, case_id, author, received, body FROM messages "
        "WHERE school = ? AND seq > ? ORDER BY seq LIMIT ?",
        (school, after, limit),
    )
    return [Message(*row) for row in rows]


def count_today(tx: Tx, school: str, day: str) -> int:
    row = tx.one("SELECT count FROM daily_counts WHERE school = ? AND day = ?", (school, day))
    return int(row[0]) if row else 0


def pending_notices(tx: Tx) -> int:
    row = tx.one("SELECT COUNT(*) FROM notices")
    return int(row[0]) if row else 0


def oldest_notice_due(tx: Tx) -> int | None:
    """When the longest-waiting notice was due (Unix seconds), or None when none waits."""
    row = tx.one("SELECT MIN(due) FROM notices")
    return int(row[0]) if row and row[0] is not None else None


def unfetched_since(tx: Tx, cutoff: str) -> int:
    """Messages that arrived on or before cutoff and that some reader has not fetched yet."""
    row = tx.one(
        "SELECT COUNT(*) FROM messages WHERE fetched_day IS NULL AND received <= ?", (cutoff,)
    )
    return int(row[0]) if row else 0


def schema_version(tx: Tx) -> int:
    row = tx.one("SELECT MAX(version) FROM schema_version")
    return int(row[0]) if row and row[0] is not None else 0


def v2_since(tx: Tx, today: str) -> str:
    """The day this relay's store first ran protocol version 2: written once, then read."""
    tx.run(
        "INSERT INTO relay_meta (name, value) VALUES ('v2_since', ?) ON CONFLICT (name) DO NOTHING",
        (today,),
    )
    row = tx.one("SELECT value FROM relay_meta WHERE name = 'v2_since'")
    assert row is not None  # noqa: S101 - written just above
    return str(row[0])


def ack_facts(tx: Tx) -> tuple[dict[tuple[str, str], str | None], dict[str, str]]:
    """Each reader's last `held` day by (school, reader), and each school's oldest message day."""
    held = {
        (row[0], row[1]): row[2] for row in tx.all("SELECT school, reader, held_day FROM fetched")
    }
    oldest = dict(tx.all("SELECT school, MIN(received) FROM messages GROUP BY school"))
    return held, oldest


def secret(tx: Tx, name: str) -> bytes:
    row = tx.one("SELECT value FROM relay_secrets WHERE name = ?", (name,))
    if row is None:
        raise StoreError(f"the database holds no {name} secret; start a relay to make it")
    return bytes(row[0])


# --- set-up ----------------------------------------------------------------------


def migrate(tx: Tx, blob: str, big_int: str) -> None:
    """Bring the schema up to date and make the shared secrets, in the caller's locked transaction.

    Each back end holds a lock that serialises this across relays starting at once, so
    every migration runs exactly once; a database set up by a newer relay is refused.
    """
    tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = schema_version(tx)
    if current > len(MIGRATIONS):
        raise StoreError(
            f"the database is at schema version {current}, newer than this relay "
            f"knows ({len(MIGRATIONS)}); upgrade the relay"
        )
    for number, sql in migration_scripts(blob, big_int):
        if number > current:
            for statement in filter(str.strip, sql.split(";")):
                tx.run(statement)
            tx.run("INSERT INTO schema_version (version) VALUES (?)", (number,))
    for name in SECRETS:
        tx.run(
            "INSERT INTO relay_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_bytes(32)),
        )


def migration_scripts(blob: str, big_int: str) -> Iterator[tuple[int, str]]:
    """Each migration's number and SQL, with the back end's column types filled in."""
    for number, sql in enumerate(MIGRATIONS, start=1):
        yield number, sql.format(blob=blob, big_int=big_int)


def new_id() -> str:
    """A message id: 24 hex digits, so it never starts with '-' or needs quoting anywhere."""
    return secrets.token_hex(12)
