"""quietdoor.payloads: typed payloads, parsed within limits, bound to their school and case."""

from __future__ import annotations

import dataclasses

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from quietdoor import payloads, protocol

from .support.envelopes import report_payload
from .support.hostile import HOSTILE_PAYLOADS

SCHOOL = "lincoln-high"
CASE = protocol.CaseKeys.derive(protocol.new_case_code())
STAFF = SigningKey.generate()


def every_kind() -> list[payloads.Payload]:
    def head(kind: payloads.Kind) -> payloads.Header:
        return payloads.Header.new(kind, SCHOOL, CASE.case_id)

    unsigned = payloads.Signer(id="dana-ortiz", key=b"")
    return [
        report_payload(SCHOOL, CASE, "Señor X 🙂\nline two", "no"),
        payloads.Update(header=head("update"), lang="es", text="más"),
        payloads.sign(
            payloads.Reply(head("reply"), "Are you safe?", unsigned), STAFF, "dana-ortiz"
        ),
        payloads.sign(payloads.Receipt(head("receipt"), unsigned), STAFF, "dana-ortiz"),
        payloads.sign(
            payloads.Note(head("note"), "referred", "cps", "Called CPS at 10:00.", unsigned),
            STAFF,
            "dana-ortiz",
        ),
        payloads.Training(
            header=head("training"),
            person=payloads.Person(name="Rosa Díaz", role="Nurse", school=SCHOOL),
            modules=(payloads.ModuleRecord("m03", "2", 3, 4, "2026-11-28"),),
        ),
    ]


@pytest.mark.parametrize("payload", every_kind(), ids=lambda p: p.header.kind)
def test_every_kind_round_trips_through_an_envelope(payload: payloads.Payload) -> None:
    key = PrivateKey.generate()
    envelope = payloads.seal_payload(payload, [bytes(key.public_key)])
    assert payloads.open_payload(protocol.parse_envelope(envelope.to_json()), key) == payload


@pytest.mark.parametrize("name", sorted(HOSTILE_PAYLOADS))
def test_hostile_payloads_are_refused_with_a_reason(name: str) -> None:
    with pytest.raises(protocol.ProtocolError) as err:
        payloads.parse_payload(HOSTILE_PAYLOADS[name])
    assert str(err.value)
    assert "\n" not in str(err.value)


def test_a_changed_signed_field_breaks_the_signature() -> None:
    reply = every_kind()[2]
    assert isinstance(reply, payloads.Reply)
    obj = payloads.to_json(dataclasses.replace(reply, text="Case closed, nothing to do."))
    with pytest.raises(protocol.ProtocolError, match="signature does not match"):
        payloads.parse_payload(payloads.encode(obj))


def test_the_payload_school_must_match_the_envelope() -> None:
    key = PrivateKey.generate()
    envelope = payloads.seal_payload(every_kind()[0], [bytes(key.public_key)])
    moved = dataclasses.replace(envelope, school="riverside-middle")
    with pytest.raises(protocol.ProtocolError, match="sealed for school 'lincoln-high'"):
        payloads.open_payload(moved, key)


@pytest.mark.parametrize(
    ("kind", "author", "under_case", "accepted"),
    [
        ("report", "public", True, True),
        ("training", "public", True, True),
        ("update", "student", True, True),
        ("reply", "staff", True, True),
        ("receipt", "staff", True, True),
        ("note", "staff", False, True),
        ("report", "student", True, False),  # a report cannot be re-sent as an update
        ("update", "public", True, False),
        ("reply", "student", True, False),  # a student cannot pass words off as the school's
        ("reply", "public", True, False),
        ("note", "staff", True, False),  # notes never sit on the student's case
        ("reply", "staff", False, False),
    ],
)
def test_kinds_arrive_only_by_their_route(
    kind: str, author: payloads.Author, under_case: bool, accepted: bool
) -> None:
    payload = next(p for p in every_kind() if p.header.kind == kind)
    case_id = CASE.case_id if under_case else None
    if accepted:
        payloads.check_origin(payload, school=SCHOOL, case_id=case_id, author=author)
    else:
        with pytest.raises(protocol.ProtocolError, match="cannot arrive from"):
            payloads.check_origin(payload, school=SCHOOL, case_id=case_id, author=author)


def test_school_and_case_must_match_the_relay_listing() -> None:
    report = every_kind()[0]
    with pytest.raises(protocol.ProtocolError, match="served as 'riverside-middle'"):
        payloads.check_origin(
            report, school="riverside-middle", case_id=CASE.case_id, author="public"
        )
    other = protocol.CaseKeys.derive(protocol.new_case_code()).case_id
    with pytest.raises(protocol.ProtocolError, match="another case"):
        payloads.check_origin(report, school=SCHOOL, case_id=other, author="public")


def test_training_person_must_belong_to_the_school() -> None:
    training = every_kind()[5]
    assert isinstance(training, payloads.Training)
    obj = payloads.to_json(training)
    obj["person"]["school"] = "riverside-middle"
    with pytest.raises(protocol.ProtocolError, match="person.school"):
        payloads.parse_payload(payloads.encode(obj))
