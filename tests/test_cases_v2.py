"""keytool.cases on version 2, without a relay: the downgrade guard, the notes' chain, escapes.

Messages are sealed and stored as a fetch stores them (keytool.inbox.Stored), and read
with the real read_inbox; the hostile relay's end-to-end attacks are in
test_relay_forgery.py.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keytool.cases import LATE_V1_REPORT, Inbox, read_inbox
from keytool.chain import MISSING, REORDERED
from keytool.directory import Colleagues
from keytool.inbox import Stored
from keytool.present import clean
from quietdoor import payloads, protocol
from quietdoor.config import Recipient, load_config

from .support.envelopes import report_payload
from .support.paths import EXAMPLE

SCHOOL = "lincoln-high"
LEAD = PrivateKey.generate()
SIGNING = SigningKey.generate()
ME = Recipient("dana-ortiz", "Dana Ortiz", bytes(LEAD.public_key), bytes(SIGNING.verify_key))
SINCE = date(2026, 1, 10)


def _stored(
    payload: payloads.Payload, author: payloads.Author, cursor: int, day: str, *extra: bytes
) -> Stored:
    envelope = payloads.seal_payload(payload, [bytes(LEAD.public_key), *extra])
    return Stored(
        id=secrets.token_hex(12),
        school=SCHOOL,
        cursor=cursor,
        case_id=None if payload.header.kind == "note" else payload.header.case_id,
        author=author,
        received=day,
        envelope=envelope,
        fetched=day,
    )


def _v1_report(day: date) -> Stored:
    keys = protocol.CaseKeys.derive(protocol.new_case_code())
    at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    report = report_payload(
        SCHOOL, dataclasses.replace(keys, case_id=keys.case_id_v1), "old", "", at
    )
    v1 = dataclasses.replace(
        report, header=dataclasses.replace(report.header, version=1), update_pk=None
    )
    return _stored(v1, "public", 1, day.isoformat(), v1.reply_pk)


@pytest.mark.parametrize(("days_after", "refused"), [(0, False), (30, False), (31, True)])
def test_a_version_1_report_fetched_after_the_window_is_refused(
    days_after: int, refused: bool
) -> None:
    item = _v1_report(SINCE + timedelta(days=days_after))
    inbox = read_inbox([item], [LEAD], Colleagues(ME, None), SINCE.isoformat())
    if refused:
        assert [u.reason for u in inbox.unreadable] == [LATE_V1_REPORT] and not inbox.cases
    else:
        assert [c.provable for c in inbox.cases] == [False] and not inbox.unreadable
        assert payloads.NOT_PROVABLE in inbox.cases[0].entries[0].warnings


@pytest.mark.parametrize(
    ("declared", "refused"),
    [(None, False), (SINCE - timedelta(days=31), True), (SINCE + timedelta(days=5), False)],
    ids=["no day in the config", "an earlier day in the config", "a later day in the config"],
)
def test_a_new_install_opens_no_new_window(declared: date | None, refused: bool) -> None:
    """[relay] v2_since starts the window when it is earlier than this tool's first run."""
    example = load_config(EXAMPLE)
    since = "" if declared is None else declared.isoformat()
    deployment = dataclasses.replace(
        example, relay=dataclasses.replace(example.relay, v2_since=since)
    )
    item = _v1_report(SINCE)  # fetched on the day this tool was installed
    inbox = read_inbox([item], [LEAD], Colleagues(ME, deployment), SINCE.isoformat())
    assert ([u.reason for u in inbox.unreadable] == [LATE_V1_REPORT]) is refused
    assert len(inbox.cases) == (0 if refused else 1)


def _note(case_id: bytes, status: str, prev: bytes | None, minute: int) -> payloads.Note:
    at = datetime(2026, 2, 1, 9, minute, tzinfo=UTC)
    header = payloads.Header.new("note", SCHOOL, case_id, at)
    if prev is None:
        header = dataclasses.replace(header, version=1)
    draft = payloads.Note(header, status, "", "", payloads.Signer("dana-ortiz", b""), prev)
    signed = payloads.sign(draft, SIGNING, "dana-ortiz")
    assert isinstance(signed, payloads.Note)
    return signed


def _report_row() -> Stored:
    keys = protocol.CaseKeys.derive(protocol.new_case_code())
    report = report_payload(SCHOOL, keys, "a report", "", datetime(2026, 2, 1, 8, tzinfo=UTC))
    return _stored(report, "public", 1, "2026-02-01", report.reply_pk)


def _read(report: Stored, notes: list[payloads.Note]) -> Inbox:
    rows = [report] + [_stored(n, "staff", i + 2, "2026-02-01") for i, n in enumerate(notes)]
    return read_inbox(rows, [LEAD], Colleagues(ME, None), "")


@pytest.mark.parametrize("order", ["written", "swapped"])
def test_status_follows_the_chain_whatever_the_relay_order(order: str) -> None:
    report = _report_row()
    assert report.case_id is not None
    old = _note(report.case_id, "in_progress", None, 1)  # version 1: first, in relay order
    first = _note(report.case_id, "closed", b"", 2)
    second = _note(report.case_id, "in_progress", first.header.msg_id, 3)
    inbox = _read(report, [old, first, second] if order == "written" else [old, second, first])
    case = inbox.cases[0]
    assert case.status == "in_progress" and not case.chain.fork
    assert [n.payload.header.msg_id for n in case.notes] == [
        n.header.msg_id for n in (old, first, second)
    ]
    assert (f"case {case.ref}: {REORDERED}" in inbox.warnings) is (order == "swapped")


def test_a_fork_takes_the_later_head_and_is_flagged() -> None:
    report = _report_row()
    assert report.case_id is not None
    one = _note(report.case_id, "closed", b"", 2)
    other = _note(report.case_id, "referred", b"", 4)
    case = _read(report, [other, one]).cases[0]
    assert case.chain.fork and case.status == "referred" and len(case.notes) == 2


def test_a_note_following_a_missing_one_is_flagged() -> None:
    report = _report_row()
    assert report.case_id is not None
    inbox = _read(report, [_note(report.case_id, "closed", secrets.token_bytes(16), 5)])
    assert inbox.cases[0].status == "closed"
    assert f"case {inbox.cases[0].ref}: {MISSING}" in inbox.warnings


def test_the_zero_width_joiner_is_shown_escaped() -> None:
    assert clean("pay\u200dpal 👩\u200d💻") == "pay\\u200dpal 👩\\u200d💻"
