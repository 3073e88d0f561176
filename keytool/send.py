"""Writing to a case: a reply to the student, or the receipt that says the school opened it.

Each is signed by the lead (so colleagues know who wrote it) and sealed to every
current recipient of the school and to the case's own key (so the student's
code opens it), then posted with a signed request. The relay answers with the
message's id, and the inbox keeps the message at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from keytool.cases import Case
from keytool.client import Relay, Row
from keytool.directory import Colleagues
from keytool.errors import KeyToolError
from keytool.identity import Identity
from keytool.inbox import Inbox
from quietdoor import payloads
from quietdoor.encoding import b64u_encode

MESSAGE_ID = re.compile(r"[0-9a-f]{24}")


def send_reply(
    relay: Relay, inbox: Inbox, me: Identity, colleagues: Colleagues, case: Case, text: str
) -> str:
    if not text.strip():
        raise KeyToolError("the reply is empty; write it after --message or on standard input")
    if len(text) > payloads.MAX_TEXT:
        raise KeyToolError(f"the reply is longer than {payloads.MAX_TEXT} characters")
    header = payloads.Header.new("reply", case.school, case.case_id)
    reply = payloads.Reply(header=header, text=text, signer=_unsigned(me))
    return _post(relay, inbox, me, colleagues, case, reply)


def send_receipt(
    relay: Relay, inbox: Inbox, me: Identity, colleagues: Colleagues, case: Case
) -> str:
    header = payloads.Header.new("receipt", case.school, case.case_id)
    return _post(relay, inbox, me, colleagues, case, payloads.Receipt(header, _unsigned(me)))


def _unsigned(me: Identity) -> payloads.Signer:
    return payloads.Signer(id=me.recipient.id, key=bytes(me.signing_key.verify_key))


def _post(
    relay: Relay,
    inbox: Inbox,
    me: Identity,
    colleagues: Colleagues,
    case: Case,
    payload: payloads.Reply | payloads.Receipt,
) -> str:
    report = case.report
    if report is None:
        raise KeyToolError(f"case {case.ref} has no readable report, so it has no key to reply to")
    signed = payloads.sign(payload, me.signing_key, me.recipient.id)
    keys = [r.x25519 for r in colleagues.recipients(case.school)] + [report.reply_pk]
    envelope = payloads.seal_payload(signed, keys)
    path = f"/api/v1/schools/{case.school}/cases/{b64u_encode(case.case_id)}/messages"
    answer = relay.post(path, envelope.to_json())
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
            case_id=case.case_id,
            author="staff",
            envelope=envelope,
        ),
    )
    return message_id
