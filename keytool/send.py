"""Writing from the school: a reply to the student, the receipt that says the school opened the
case, and staff-only notes (status, disposition, a private note) for colleagues.

Each is signed by the lead (so colleagues know who wrote it) and sealed to every
current recipient of the school; replies and receipts also to the case's own key
(so the student's code opens them), notes never. It is posted with a signed
request; the relay answers with the message's id, and the inbox keeps the
message at once, so the writer sees it before the next fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from nacl.signing import SigningKey

from keytool.cases import Case
from keytool.client import Relay, Row
from keytool.directory import Colleagues
from keytool.errors import KeyToolError
from keytool.inbox import Inbox
from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_encode

MESSAGE_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class Writer:
    """Who signs: the recipient id and the signing key the deployment config lists for them."""

    id: str
    signing_key: SigningKey


def send_reply(
    relay: Relay, inbox: Inbox, me: Writer, colleagues: Colleagues, case: Case, text: str
) -> str:
    if not text.strip():
        raise KeyToolError("the reply is empty; write it after --message or on standard input")
    if len(text) > payloads.MAX_TEXT:
        raise KeyToolError(f"the reply is longer than {payloads.MAX_TEXT} characters")
    header = payloads.Header.new("reply", case.school, case.case_id)
    reply = payloads.Reply(header=header, text=text, signer=_unsigned(me))
    return _post(relay, inbox, me, colleagues, case, reply)


def send_receipt(relay: Relay, inbox: Inbox, me: Writer, colleagues: Colleagues, case: Case) -> str:
    header = payloads.Header.new("receipt", case.school, case.case_id)
    return _post(relay, inbox, me, colleagues, case, payloads.Receipt(header, _unsigned(me)))


def send_note(
    relay: Relay,
    inbox: Inbox,
    me: Writer,
    colleagues: Colleagues,
    case: Case,
    *,
    status: str,
    disposition: str,
    text: str,
) -> str:
    """A staff note on the case: its status and disposition, and an optional private note."""
    if status not in payloads.STATUSES:
        raise KeyToolError(f"status {status!r}: use one of {', '.join(payloads.STATUSES)}")
    if disposition not in payloads.DISPOSITIONS:
        choices = ", ".join(d for d in payloads.DISPOSITIONS if d)
        raise KeyToolError(f"disposition {disposition!r}: use one of {choices}, or none")
    if len(text) > payloads.MAX_TEXT:
        raise KeyToolError(f"the note is longer than {payloads.MAX_TEXT} characters")
    header = payloads.Header.new("note", case.school, case.case_id)
    # The note follows the one the case's status comes from now (b"": the first note).
    head = case.status_note
    prev = head.payload.header.msg_id if head else b""
    note = payloads.Note(header, status, disposition, text, _unsigned(me), prev)
    signed = payloads.sign(note, me.signing_key, me.id)
    envelope = payloads.seal_payload(signed, [r.x25519 for r in colleagues.recipients(case.school)])
    answer = relay.post(f"/api/v1/schools/{case.school}/notes", envelope.to_json())
    return _keep(relay, inbox, answer, envelope, case_id=None)


def _unsigned(me: Writer) -> payloads.Signer:
    return payloads.Signer(id=me.id, key=bytes(me.signing_key.verify_key))


def _post(
    relay: Relay,
    inbox: Inbox,
    me: Writer,
    colleagues: Colleagues,
    case: Case,
    payload: payloads.Reply | payloads.Receipt,
) -> str:
    report = case.report
    if report is None:
        raise KeyToolError(f"case {case.ref} has no readable report, so it has no key to reply to")
    signed = payloads.sign(payload, me.signing_key, me.id)
    keys = [r.x25519 for r in colleagues.recipients(case.school)] + [report.reply_pk]
    envelope = payloads.seal_payload(signed, keys)
    path = f"/api/v1/schools/{case.school}/cases/{b64u_encode(case.case_id)}/messages"
    answer = relay.post(path, envelope.to_json())
    return _keep(relay, inbox, answer, envelope, case_id=case.case_id)


def _keep(
    relay: Relay,
    inbox: Inbox,
    answer: dict[str, object],
    envelope: protocol.Envelope,
    case_id: bytes | None,
) -> str:
    message_id = answer.get("id")
    if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
        raise KeyToolError(f"{relay.url} did not answer like a Quiet Door relay")
    day = datetime.now(UTC).date().isoformat()
    inbox.add_sent(
        message_id,
        Row(
            cursor=0,
            id=message_id,
            received=day,
            case_id=case_id,
            author="staff",
            envelope=envelope,
        ),
    )
    return message_id
