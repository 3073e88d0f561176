"""The inbox as cases: each message decrypted, checked against what the relay says, grouped.

Anyone can seal anything to a school, and the relay may lie about what it
serves. So every message is opened through quietdoor.payloads (limits, types,
signatures) and its header is compared with the relay's listing. What fails is
named by id and left out; what is odd but readable (the same message served
twice, a relay date far from the writing date, a colleague's signature this
tool cannot check) is kept with a warning. A bad message never hides the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from nacl.public import PrivateKey

from keytool.directory import Colleagues
from keytool.inbox import Stored
from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_encode

MAX_DATE_DRIFT = timedelta(days=2)  # device clocks are often wrong, but not by days


@dataclass(frozen=True)
class Entry:
    """One readable message, with anything odd about it."""

    stored: Stored
    payload: payloads.Payload
    warnings: tuple[str, ...] = ()
    trusted: bool = True  # False for staff kinds whose signer this tool cannot check

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
    notes: list[Entry] = field(default_factory=list)  # staff-only status changes and notes

    @property
    def ref(self) -> str:
        """The id `show` and `reply` take: hex, so it never starts with '-'."""
        return case_ref(self.case_id)

    @property
    def report(self) -> payloads.Report | None:
        for e in self.entries:
            if isinstance(e.payload, payloads.Report):
                return e.payload
        return None

    @property
    def opened(self) -> str:
        return self.entries[0].stored.received if self.entries else ""

    @property
    def last_activity(self) -> str:
        return max((e.stored.received for e in self.entries), default="")

    @property
    def recency(self) -> tuple[str, int]:
        """Newest first: the day, then the relay's order (a message just sent is newest)."""
        cursors = [e.stored.cursor if e.stored.cursor is not None else 2**62 for e in self.entries]
        return self.last_activity, max(cursors, default=0)

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
    def status(self) -> str:
        notes = [
            n.payload for n in self.notes if n.trusted and isinstance(n.payload, payloads.Note)
        ]
        return notes[-1].status if notes else "new"


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


def case_ref(case_id: bytes) -> str:
    return case_id[:5].hex()


def read_inbox(
    stored: Iterable[Stored], keys: Sequence[PrivateKey], colleagues: Colleagues
) -> Inbox:
    """Open every message, check it, and group the readable ones into cases.

    keys: every X25519 key the reader has held (current first), so that envelopes
    sealed before a rotation still open.
    """
    by_id = {protocol.key_id(bytes(k.public_key)): k for k in keys}
    cases: dict[bytes, Case] = {}
    training: list[Entry] = []
    unreadable: list[Unreadable] = []
    warnings: list[str] = []
    seen: dict[bytes, str] = {}
    for item in stored:
        try:
            payload = payloads.open_payload(item.envelope, _key_for(item.envelope, by_id, keys))
            payloads.check_origin(
                payload, school=item.school, case_id=item.case_id, author=item.author
            )
        except protocol.ProtocolError as exc:
            unreadable.append(Unreadable(item.id, item.school, str(exc)))
            continue
        first = seen.setdefault(payload.header.msg_id, item.id)
        if first != item.id:
            warnings.append(
                f"message {item.id} repeats message {first} (same message id): "
                "the relay served one message twice; it is shown once"
            )
            continue
        trusted = _signed_by_colleague(payload, item.received, colleagues)
        if trusted is False:
            unreadable.append(
                Unreadable(item.id, item.school, "signed by a key that is not this school's")
            )
            continue
        entry = Entry(item, payload, _warnings(item, payload, trusted), trusted is True)
        if isinstance(payload, payloads.Training):
            training.append(entry)
            continue
        case = cases.setdefault(
            payload.header.case_id, Case(school=item.school, case_id=payload.header.case_id)
        )
        (case.notes if isinstance(payload, payloads.Note) else case.entries).append(entry)
    readable = [c for c in cases.values() if c.entries and c.entries[0].kind == "report"]
    for c in cases.values():
        if c not in readable:
            warnings.append(
                f"{len(c.entries) + len(c.notes)} message(s) of a case whose first report "
                f"is missing or unreadable ({c.school}, case {c.ref}) are not listed"
            )
    readable.sort(key=lambda c: c.recency, reverse=True)
    return Inbox(cases=readable, training=training, unreadable=unreadable, warnings=warnings)


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


def _warnings(item: Stored, payload: payloads.Payload, trusted: bool | None) -> tuple[str, ...]:
    notes = []
    written = date.fromisoformat(payload.header.sent[:10])
    received = date.fromisoformat(item.received)
    if received < written - timedelta(days=1) or received > written + MAX_DATE_DRIFT:
        notes.append(
            f"written on {payload.header.sent[:10]} but the relay dated it {item.received}"
        )
    if trusted is None and isinstance(payload, payloads.Reply | payloads.Receipt | payloads.Note):
        notes.append(
            f"signed as {payload.signer.id} with key {b64u_encode(payload.signer.key)[:8]}…; "
            "pass --config to check it is a colleague's"
        )
    return tuple(notes)
