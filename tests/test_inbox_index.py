"""The encrypted index of opened messages (keytool.index): the same inbox as from scratch.

A mixed inbox, stored as a fetch stores it, holds every case the checks in
keytool.cases tell apart (a bound report, a second report, a forged and a
version-1 report, signed and forged updates, a chained and a forged note, a
message served twice or moved by the relay, training records). Reading it
through the index, built at once or message by message, must give what
read_inbox gives from the stored envelopes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from keytool.cases import LATE_V1_REPORT, SECOND_REPORT, Entry, Inbox, read_inbox
from keytool.chain import REORDERED
from keytool.client import Row
from keytool.directory import Colleagues
from keytool.identity import Identity, KeyPair
from keytool.inbox import INBOX_FILE
from keytool.inbox import Inbox as StoredInbox
from keytool.index import INDEX_FILE, index_key, inputs, load
from keytool.session import Session
from keytool.settings import Settings
from quietdoor import payloads, protocol

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import report_payload, training_record

SCHOOL = "lincoln-high"
RELAY = "http://relay.invalid"
TODAY = datetime.now(UTC).date().isoformat()


@dataclasses.dataclass
class Lead:
    home: Path
    deployed: KeyedDeployment

    @property
    def identity(self) -> Identity:
        keys = self.deployed.keys["dana-ortiz"]
        me = next(r for r in self.deployed.deployment.recipients if r.id == "dana-ortiz")
        return Identity(recipient=me, keys=KeyPair(keys.box, keys.signing))

    def session(self, config: bool = True) -> Session:
        """A session as unlocking opens one (a new one has only what is on disk)."""
        deployment = self.deployed.deployment if config else None
        colleagues = Colleagues(self.identity.recipient, deployment)
        return Session(self.home, self.identity, Settings(), colleagues)

    def scratch(self, config: bool = True) -> Inbox:
        """Every stored envelope opened and checked again."""
        session = self.session(config)
        with StoredInbox(self.home) as stored:
            messages, since = stored.messages(), stored.v2_since()
        return read_inbox(messages, self.identity.box_keys, session.colleagues, since)

    def store(self, rows: list[Row]) -> None:
        with StoredInbox(self.home) as stored:
            stored.add_page(RELAY, SCHOOL, rows)


@pytest.fixture
def lead(tmp_path: Path) -> Lead:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return Lead(home, make_deployment(tmp_path))


def _school_keys(lead: Lead) -> list[bytes]:
    return [r.x25519 for r in lead.deployed.deployment.recipients_for(SCHOOL)]


class Messages:
    """Rows for the inbox, numbered as a relay numbers them."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        self.rows: list[Row] = []

    def add(
        self,
        payload: payloads.Payload | bytes,
        author: payloads.Author,
        case_id: bytes | None,
        *extra: bytes,
        received: str = TODAY,
    ) -> None:
        keys = [*_school_keys(self.lead), *extra]
        if isinstance(payload, bytes):
            envelope = protocol.seal(SCHOOL, payload, keys)
        else:
            envelope = payloads.seal_payload(payload, keys)
        self.again(envelope, author, case_id, received)

    def again(
        self, envelope: protocol.Envelope, author: Any, case_id: bytes | None, received: str
    ) -> None:
        self.rows.append(
            Row(len(self.rows) + 1, secrets.token_hex(12), received, case_id, author, envelope)
        )


def _signed(lead: Lead, payload: payloads.StaffPayload, who: str = "marcus-lee") -> Any:
    key = lead.deployed.keys[who].signing if who in lead.deployed.keys else SigningKey.generate()
    return payloads.sign(payload, key, "marcus-lee" if who == "stranger" else who)


def _signer() -> payloads.Signer:
    return payloads.Signer("marcus-lee", b"")  # sign() fills in the key and signature


def _note(case_id: bytes, status: str, prev: bytes | None) -> payloads.Note:
    header = payloads.Header.new("note", SCHOOL, case_id)
    return payloads.Note(header, status, "", "a note", _signer(), prev)


def _update(case: protocol.CaseKeys, key: SigningKey) -> payloads.Update:
    header = payloads.Header.new("update", SCHOOL, case.case_id)
    return payloads.sign_update(payloads.Update(header, "en", "more to say"), key)


def mixed(lead: Lead) -> list[Row]:
    """One of everything keytool.cases checks, in the relay's order."""
    m = Messages(lead)
    a = protocol.CaseKeys.derive(protocol.new_case_code())
    reply_a = bytes(a.reply_key.public_key)
    report = report_payload(SCHOOL, a, "what happened", "no")
    m.add(report, "public", a.case_id, reply_a)
    m.add(report_payload(SCHOOL, a, "a second report"), "public", a.case_id, reply_a)
    m.again(m.rows[0].envelope, "public", a.case_id, TODAY)  # served twice
    receipt = payloads.Receipt(payloads.Header.new("receipt", SCHOOL, a.case_id), _signer())
    m.add(_signed(lead, receipt), "staff", a.case_id, reply_a)
    m.add(_update(a, a.update_key), "student", a.case_id, reply_a)
    m.add(_update(a, SigningKey.generate()), "student", a.case_id, reply_a)  # not the case's key
    first = _signed(lead, _note(a.case_id, "in_progress", b""))
    second = _signed(lead, _note(a.case_id, "closed", first.header.msg_id))
    m.add(second, "staff", None)  # the relay swaps the chain
    m.add(first, "staff", None)
    m.add(_signed(lead, _note(a.case_id, "closed", b""), "stranger"), "staff", None)
    b = protocol.CaseKeys.derive(protocol.new_case_code())
    m.add(report_payload(SCHOOL, b, "moved"), "public", a.case_id, bytes(b.reply_key.public_key))
    forged = dataclasses.replace(report_payload(SCHOOL, b, "forged"), reply_pk=reply_a)
    m.add(forged, "public", b.case_id, reply_a)  # does not bind to its case id
    m.add(_update(b, b.update_key), "student", b.case_id)  # a case without its report
    c = protocol.CaseKeys.derive(protocol.new_case_code())
    old = dataclasses.replace(
        report_payload(SCHOOL, dataclasses.replace(c, case_id=c.case_id_v1), "v1"),
        update_pk=None,
    )
    v1 = dataclasses.replace(old, header=dataclasses.replace(old.header, version=1))
    m.add(v1, "public", c.case_id_v1, bytes(c.reply_key.public_key))
    m.add(b"not json", "public", c.case_id)
    drifted = report_payload(SCHOOL, protocol.CaseKeys.derive(protocol.new_case_code()), "late")
    late = (date.today() + timedelta(days=5)).isoformat()
    m.add(drifted, "public", drifted.header.case_id, drifted.reply_pk, received=late)
    record = training_record(SCHOOL, "Pat Doe", [("m1", "1", TODAY)])
    assert record.record_pk is not None
    m.add(record, "public", record.header.case_id, record.record_pk)
    unbound = training_record(SCHOOL, "Not Bound", [])
    m.add(unbound, "public", unbound.header.case_id)  # not sealed to its own key
    return m.rows


def _entry(e: Entry) -> tuple[Any, ...]:
    return (e.stored.id, e.stored.cursor, e.payload, e.warnings, e.trusted)


def view(inbox: Inbox) -> tuple[Any, ...]:
    """What a reader of the inbox sees, message by message and case by case."""
    cases = [
        (c.school, c.ref, c.status, c.provable, c.chain.fork, c.chain.warnings, c.refused)
        + (tuple(map(_entry, c.entries)), tuple(map(_entry, c.notes)))
        for c in inbox.cases
    ]
    return (cases, [_entry(e) for e in inbox.training], inbox.unreadable, inbox.warnings)


def _upgraded_long_ago(lead: Lead) -> None:
    """The downgrade guard applies: this tool's version 2 began long before these messages."""
    with StoredInbox(lead.home) as stored:
        stored.v2_since()
    with sqlite3.connect(lead.home / INBOX_FILE) as db:
        db.execute("UPDATE meta SET value = '2020-01-01' WHERE name = 'v2_since'")


def test_the_mixed_inbox_has_one_of_every_verdict(lead: Lead) -> None:
    lead.store(mixed(lead))
    _upgraded_long_ago(lead)
    inbox = lead.scratch()
    reasons = " | ".join(u.reason for u in inbox.unreadable)
    for expected in (
        SECOND_REPORT,
        LATE_V1_REPORT,
        "not this school's",
        "not signed with its case's key",
        "does not match its case id",
        "another case",
        "not acceptable JSON",
        "training record's key",
    ):
        assert expected in reasons
    said = " | ".join(inbox.warnings)
    for expected in ("repeats message", REORDERED, "first report is missing"):
        assert expected in said
    # One message is "1 message", never "1 messages".
    held = r"\((1 message|([02-9]|\d{2,}) messages) held\)"
    assert re.search(r"is not listed: its first report is missing or unreadable " + held, said)
    assert any(e.warnings for c in inbox.cases for e in c.entries)  # the relay's date drifts
    assert len(inbox.cases) == 2 and len(inbox.training) == 1


@pytest.mark.parametrize("batches", [1, 2, 7])
def test_the_index_gives_what_opening_everything_gives(lead: Lead, batches: int) -> None:
    rows = mixed(lead)
    _upgraded_long_ago(lead)
    size = -(-len(rows) // batches)
    kept = lead.session()  # a desk left open, while other sessions come and go
    for at in range(0, len(rows), size):
        lead.store(rows[at : at + size])
        assert view(lead.session().read()) == view(lead.scratch()) == view(kept.read())
    assert (lead.home / INDEX_FILE).exists()
    assert view(lead.session().read()) == view(lead.scratch())


def test_a_visit_with_the_index_opens_no_stored_envelope_again(lead: Lead) -> None:
    lead.store(mixed(lead))
    expected = view(lead.session().read())
    other = payloads.seal_payload(
        report_payload(SCHOOL, protocol.CaseKeys.derive(protocol.new_case_code())),
        _school_keys(lead),
    )
    with sqlite3.connect(lead.home / INBOX_FILE) as db:
        db.execute("UPDATE messages SET body = ?", (other.canonical(),))
    assert view(lead.session().read()) == expected


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.unlink(),
        _damage,
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(p.read_bytes()[:100]),
    ],
    ids=["missing", "damaged", "empty", "cut"],
)
def test_an_index_missing_or_damaged_is_rebuilt(lead: Lead, change: Any) -> None:
    lead.store(mixed(lead))
    lead.session().read()
    index = lead.home / INDEX_FILE
    change(index)
    assert view(lead.session().read()) == view(lead.scratch())
    identity = lead.identity
    written = inputs(identity.box_keys, lead.session().colleagues)
    assert len(load(lead.home, index_key(identity.box_key), written)) == len(mixed(lead))


def test_other_colleagues_rebuild_the_index(lead: Lead) -> None:
    """Without the config a colleague's note is "cannot tell"; with it, a colleague's."""
    lead.store(mixed(lead))
    before = lead.session(config=False).read()
    assert view(before) == view(lead.scratch(config=False))
    after = lead.session(config=True).read()
    assert view(after) == view(lead.scratch(config=True)) != view(before)


def test_other_keys_rebuild_the_index(lead: Lead) -> None:
    """Dropping a previous key (same current key) makes what was sealed to it unreadable."""
    lead.store(mixed(lead))
    rotated = dataclasses.replace(
        lead.identity,
        keys=KeyPair(PrivateKey.generate(), lead.identity.keys.signing),
        previous=(lead.identity.keys,),
    )
    dropped = dataclasses.replace(rotated, previous=())
    for identity in (rotated, dropped):
        session = dataclasses.replace(lead.session(), identity=identity)
        with StoredInbox(lead.home) as stored:
            fresh = read_inbox(stored.messages(), identity.box_keys, session.colleagues, TODAY)
        assert view(session.read()) == view(fresh)
    assert not fresh.cases


def test_the_index_holds_no_plaintext_and_only_its_owner_reads_it(lead: Lead) -> None:
    lead.store(mixed(lead))
    lead.session().read()
    index = lead.home / INDEX_FILE
    assert os.stat(index).st_mode & 0o777 == 0o600
    data = index.read_bytes()
    for plain in (b"what happened", b"a note", b"Pat Doe", b"marcus-lee", b"lincoln"):
        assert plain not in data
