"""A key tool's inbox filled as a fetch fills it, with many cases at once."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from keytool.client import Row
from keytool.identity import Identity
from keytool.inbox import Inbox
from quietdoor import payloads, protocol

from .envelopes import report_payload


def fill_cases(home: Path, me: Identity, school: str, safe_now: Sequence[str]) -> None:
    """One report per answer to "are you safe now" (oldest first), each sealed to me."""
    rows = []
    for n, answer in enumerate(safe_now):
        keys = protocol.CaseKeys.derive(protocol.new_case_code())
        report = report_payload(school, keys, f"report {n}", answer)
        envelope = payloads.seal_payload(report, [me.recipient.x25519, report.reply_pk])
        received = report.header.sent[:10]
        rows.append(Row(n + 1, secrets.token_hex(12), received, keys.case_id, "public", envelope))
    with Inbox(home) as inbox:
        inbox.add_page("http://relay.invalid", school, rows)
