"""The inbox as cases: each message decrypted, checked against what the relay says, grouped.

Anyone can seal anything to a school, and the relay may lie about what it
serves. So every message is opened through quietdoor.payloads (limits, types,
signatures) and its header is compared with the relay's listing. What fails is
named by id and left out; what is odd but readable (the same message served
twice, a relay date far from the writing date, a colleague's signature this
tool cannot check) is kept with a warning. A bad message never hides the rest.

From version 2 a case's messages are also checked against its code's keys
(quietdoor.payloads.check_binding): a report that does not bind, a second report,
an update its case did not sign, and a version-1 report first fetched long after
this tool's upgrade (a relay downgrading a case to forge it) are refused by name.
Cases opened before version 2 are kept, labelled "origin not provable".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from nacl.public import PrivateKey

from keytool.chain import Chain, order_notes
from keytool.directory import Colleagues
from keytool.inbox import Listed, Stored
from keytool.words import plural
from quietdoor import payloads, protocol
from quietdoor.clock import drifted
from quietdoor.encoding import b64u_encode

V1_ACCEPT_DAYS = 30  # [relay] v1_accept_days when the deployment config does not say
SECOND_REPORT = "a case has one report; this second one is refused"
V1_IN_V2_CASE = (
    "a version-1 report in a case whose report is version 2: a relay or someone else made it"
)
LATE_V1_REPORT = "a version-1 report arriving after the upgrade window: the relay may have made it"


@dataclass(frozen=True)
class Entry:
    """One readable message, with anything odd about it."""

    stored: Listed
    payload: payloads.Payload
    warnings: tuple[str, ...] = ()
    trusted: bool = True  # False for staff kinds whose signer this tool cannot check
    binding: bool | str = True  # a report's check_binding (Opened.binding)

    @property
    def kind(self) -> str:
        return self.payload.header.kind


@dataclass(frozen=True)
class Unreadable:
    id: str
    school: str
    reason: str


@dataclass
class Case:
    school: str
    case_id: bytes
    entries: list[Entry] = field(default_factory=list)
    notes: list[Entry] = field(default_factory=list)  # staff-only, in their chain's order
    chain: Chain = field(default_factory=lambda: Chain([], None, False, ()))
    refused: list[Unreadable] = field(default_factory=list)  # this case's refused messages

    @property
    def ref(self) -> str:
        """The id `show` and `reply` take: hex, so it never starts with '-'."""
        return case_ref(self.case_id)

    @property
    def message_ids(self) -> set[str]:
        """The stored messages a view of this case shows, refused ones included."""
        return {e.stored.id for e in (*self.entries, *self.notes)} | {u.id for u in self.refused}

    @property
    def provable(self) -> bool:
        """False for a case opened before version 2: nothing proves who wrote it."""
        report = self.report
        return report is not None and report.update_pk is not None

    @property
    def report(self) -> payloads.Report | None:
        for e in self.entries:
            if isinstance(e.payload, payloads.Report):
                return e.payload
        return None

    @property
    def opened(self) -> str:
        """The relay's UTC day of the case's first message."""
        return self.entries[0].stored.received if self.entries else ""

    @property
    def last_activity(self) -> str:
        """The relay's UTC day of the newest message."""
        return max((e.stored.received for e in self.entries), default="")

    @property
    def came_in(self) -> str:
        """The report's `sent` (UTC, from the student's device); "" without a report."""
        report = self.report
        return report.header.sent if report else ""

    @property
    def latest(self) -> Entry | None:
        """The newest message, in the relay's order."""
        return max(self.entries, key=relay_order, default=None)

    @property
    def recency(self) -> tuple[str, int]:
        """Newest first: the day, then the relay's order (a message just sent is newest)."""
        return max((relay_order(e) for e in self.entries), default=("", 0))

    @property
    def safe_now(self) -> str:
        report = self.report
        return report.answers.safe_now if report else ""

    @property
    def read_by_staff(self) -> bool:
        return any(e.kind == "receipt" for e in self.entries)

    def needs_receipt(self) -> bool:
        """A student message that no read receipt has followed yet."""
        last_student = last_receipt = -1
        for i, e in enumerate(self.entries):
            if e.kind in ("report", "update"):
                last_student = i
            elif e.kind == "receipt":
                last_receipt = i
        return last_student > last_receipt

    @property
    def attention(self) -> str:
        """What needs a lead's eyes, one rule for `list` and the desk: "new" (nobody has
        opened it), "new message" (the student wrote after it was opened) or ""."""
        if not self.needs_receipt():
            return ""
        return "new message" if self.read_by_staff else "new"

    @property
    def status_note(self) -> Entry | None:
        """The note the status comes from: the head of the notes' chain."""
        return self.chain.head

    @property
    def status(self) -> str:
        head = self.chain.head
        return head.payload.status if head and isinstance(head.payload, payloads.Note) else "new"


@dataclass
class Inbox:
    cases: list[Case]
    training: list[Entry]
    unreadable: list[Unreadable]
    warnings: list[str]

    def find(self, ref: str) -> Case:
        ref = ref.strip().lower()
        matches = [c for c in self.cases if c.ref.startswith(ref)] if len(ref) >= 4 else []
        if len(matches) != 1:
            problem = "no case" if not matches else "more than one case"
            raise LookupError(f"{problem} matches {ref!r}; `list` shows each case's id")
        return matches[0]


def relay_order(entry: Entry) -> tuple[str, int]:
    """The relay's day and order of a message (one not fetched back yet comes last)."""
    cursor = entry.stored.cursor
    return entry.stored.received, cursor if cursor is not None else 2**62


def case_ref(case_id: bytes) -> str:
    return case_id[:5].hex()


def read_inbox(
    stored: Iterable[Stored],
    keys: Sequence[PrivateKey],
    colleagues: Colleagues,
    v2_since: str = "",
) -> Inbox:
    """Open every message, check it, and group the readable ones into cases.

    keys: every X25519 key the reader has held (current first), so that envelopes
    sealed before a rotation still open. v2_since: the day this tool first ran
    version 2 ("": no downgrade guard).
    """
    opener = Opener(keys, colleagues)
    return assemble([(item, opener.open(item)) for item in stored], colleagues, v2_since)


@dataclass(frozen=True)
class Opened:
    """What one message yields on its own, before it meets the rest of its case.

    It depends only on the message, the reader's keys and the colleagues' keys, so
    keytool.index keeps it: a later visit needs neither the decryption nor the
    signature checks again.
    """

    payload: payloads.Payload | None  # None: refused, for `reason`
    reason: str = ""
    signer: bool | None = True  # a staff kind's signer: a colleague, someone else, unknown
    warnings: tuple[str, ...] = ()
    binding: bool | str = True  # a report's or training record's check_binding, or why it fails


class Opener:
    """Opens and checks messages one by one (keys: current first, as for read_inbox)."""

    def __init__(self, keys: Sequence[PrivateKey], colleagues: Colleagues) -> None:
        self.keys = keys
        self.by_id = {protocol.key_id(bytes(k.public_key)): k for k in keys}
        self.colleagues = colleagues

    def open(self, item: Stored) -> Opened:
        try:
            payload = payloads.open_payload(
                item.envelope, _key_for(item.envelope, self.by_id, self.keys)
            )
            payloads.check_origin(
                payload, school=item.school, case_id=item.case_id, author=item.author
            )
        except protocol.ProtocolError as exc:
            return Opened(None, str(exc))
        signer = _signed_by_colleague(payload, item.received, self.colleagues)
        binding: bool | str = True
        if isinstance(payload, payloads.Report | payloads.Training):
            try:
                binding = payloads.check_binding(payload, item.envelope)
            except protocol.ProtocolError as exc:
                binding = str(exc)
        return Opened(payload, "", signer, _warnings(item, payload, signer), binding)


def assemble(
    opened: Iterable[tuple[Listed, Opened]], colleagues: Colleagues, v2_since: str = ""
) -> Inbox:
    """Check the opened messages against each other (read_inbox's second half)."""
    cases: dict[bytes, Case] = {}
    training: list[Entry] = []
    unreadable: list[Unreadable] = []
    warnings: list[str] = []
    seen: dict[bytes, str] = {}
    filed: list[tuple[bytes | None, Unreadable]] = []  # refused, with the case the relay named
    for item, found in opened:
        payload = found.payload
        if payload is None:
            unreadable.append(Unreadable(item.id, item.school, found.reason))
            filed.append((item.case_id, unreadable[-1]))
            continue
        first = seen.setdefault(payload.header.msg_id, item.id)
        if first != item.id:
            warnings.append(
                f"message {item.id} repeats message {first} (same message id): "
                "the relay served one message twice; it is shown once"
            )
            continue
        if found.signer is False:
            unreadable.append(
                Unreadable(item.id, item.school, "signed by a key that is not this school's")
            )
            filed.append((item.case_id, unreadable[-1]))
            continue
        entry = Entry(item, payload, found.warnings, found.signer is True, found.binding)
        if isinstance(payload, payloads.Training):
            if isinstance(found.binding, str):
                unreadable.append(Unreadable(item.id, item.school, found.binding))
                continue
            training.append(entry if found.binding else _labelled(entry))
            continue
        case = cases.setdefault(
            payload.header.case_id, Case(school=item.school, case_id=payload.header.case_id)
        )
        (case.notes if isinstance(payload, payloads.Note) else case.entries).append(entry)
    for case_id, refused in filed:
        if case_id in cases:
            cases[case_id].refused.append(refused)
    late = _late_day(v2_since, colleagues)
    for c in cases.values():
        before = len(c.refused)
        _settle(c, late)
        unreadable += c.refused[before:]
        warnings += [f"case {c.ref}: {w}" for w in c.chain.warnings]
    readable = [c for c in cases.values() if c.entries and c.entries[0].kind == "report"]
    listed = {id(c) for c in readable}
    for c in cases.values():
        if id(c) not in listed:
            warnings.append(
                f"case {c.ref} ({c.school}) is not listed: its first report is missing or "
                f"unreadable ({plural(len(c.entries) + len(c.notes), 'message')} held)"
            )
    readable.sort(key=lambda c: c.recency, reverse=True)
    return Inbox(cases=readable, training=training, unreadable=unreadable, warnings=warnings)


def _late_day(v2_since: str, colleagues: Colleagues) -> str:
    """The first fetch day on which a version-1 report is refused ("": no guard).

    The window starts at the earlier of this tool's first version-2 run and the day the
    deployment config says the deployment moved ([relay] v2_since): a new install does
    not open a new window.
    """
    deployment = colleagues.deployment
    starts = [day for day in (v2_since, deployment.relay.v2_since if deployment else "") if day]
    if not starts:
        return ""
    # [relay] v1_accept_days, when the deployment config has it (0: version 1 never).
    window = deployment.relay.v1_accept_days if deployment else V1_ACCEPT_DAYS
    return (date.fromisoformat(min(starts)) + timedelta(days=window + 1)).isoformat()


def _settle(case: Case, late: str) -> None:
    """Check the case's messages against its report; refused ones move to case.refused."""
    report = _the_report(case, late)
    kept: list[Entry] = [report] if report else []
    for e in case.entries:
        if isinstance(e.payload, payloads.Update):
            try:
                provable = payloads.check_update(e.payload, _report_of(report))
            except protocol.ProtocolError as exc:
                _refuse(case, e, str(exc))
                continue
            kept.append(e if provable else _labelled(e))
        elif not isinstance(e.payload, payloads.Report):
            kept.append(e)
    case.entries = kept
    case.chain = order_notes(case.notes)
    case.notes = case.chain.notes


def _the_report(case: Case, late: str) -> Entry | None:
    """The case's one report: the first that binds (version 2), else the first version-1 one."""
    bound: list[tuple[bool, Entry]] = []
    for e in case.entries:
        if not isinstance(e.payload, payloads.Report):
            continue
        if isinstance(e.binding, str):
            _refuse(case, e, e.binding)
            continue
        provable = e.binding
        if not provable and late and (e.stored.fetched or e.stored.received) >= late:
            _refuse(case, e, LATE_V1_REPORT)
            continue
        bound.append((provable, e))
    chosen = next((e for p, e in bound if p), None)
    if chosen is None and bound:
        chosen = _labelled(bound[0][1])
    version_2 = any(p for p, _ in bound)
    for provable, e in bound:
        if chosen is not None and e.stored.id != chosen.stored.id:
            _refuse(case, e, V1_IN_V2_CASE if version_2 and not provable else SECOND_REPORT)
    return chosen


def _report_of(entry: Entry | None) -> payloads.Report | None:
    return entry.payload if entry and isinstance(entry.payload, payloads.Report) else None


def _refuse(case: Case, entry: Entry, reason: str) -> None:
    case.refused.append(Unreadable(entry.stored.id, case.school, reason))


def _labelled(entry: Entry) -> Entry:
    return replace(entry, warnings=(*entry.warnings, payloads.NOT_PROVABLE))


def _key_for(
    envelope: protocol.Envelope, by_id: dict[bytes, PrivateKey], keys: Sequence[PrivateKey]
) -> PrivateKey:
    """The key the envelope is sealed to; the current one when none is (open_payload says so)."""
    for sealed in envelope.keys:
        if sealed.to in by_id:
            return by_id[sealed.to]
    return keys[0]


def _signed_by_colleague(
    payload: payloads.Payload, received: str, colleagues: Colleagues
) -> bool | None:
    if isinstance(payload, payloads.Reply | payloads.Receipt | payloads.Note):
        days = (date.fromisoformat(payload.header.sent[:10]), date.fromisoformat(received))
        return colleagues.check(payload.header.school, payload.signer, max(days))
    return True


def _warnings(item: Listed, payload: payloads.Payload, trusted: bool | None) -> tuple[str, ...]:
    notes = []
    if drifted(payload.header.sent, item.received):
        notes.append(
            f"written on {payload.header.sent[:10]} but the relay dated it {item.received} "
            "(both UTC days)"
        )
    if trusted is None and isinstance(payload, payloads.Reply | payloads.Receipt | payloads.Note):
        notes.append(
            f"signed as {payload.signer.id} with key {b64u_encode(payload.signer.key)[:8]}…; "
            "pass --config to check it is a colleague's"
        )
    return tuple(notes)
