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
RECORD = PrivateKey.generate()


def every_kind() -> list[payloads.Payload]:
    def head(kind: payloads.Kind) -> payloads.Header:
        return payloads.Header.new(kind, SCHOOL, CASE.case_id)

    unsigned = payloads.Signer(id="dana-ortiz", key=b"")
    return [
        report_payload(SCHOOL, CASE, "Señor X 🙂\nline two", "no"),
        payloads.sign_update(
            payloads.Update(header=head("update"), lang="es", text="más"), CASE.update_key
        ),
        payloads.sign(
            payloads.Reply(head("reply"), "Are you safe?", unsigned), STAFF, "dana-ortiz"
        ),
        payloads.sign(payloads.Receipt(head("receipt"), unsigned), STAFF, "dana-ortiz"),
        payloads.sign(
            payloads.Note(
                head("note"), "referred", "cps", "Called CPS at 10:00.", unsigned, bytes(16)
            ),
            STAFF,
            "dana-ortiz",
        ),
        payloads.Training(
            header=head("training"),
            person=payloads.Person(name="Rosa Díaz", role="Nurse", school=SCHOOL),
            modules=(payloads.ModuleRecord("m03", "2", 3, 4, "2026-11-28"),),
            record_pk=bytes(RECORD.public_key),
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


@pytest.mark.parametrize(
    ("wording", "accepted"),
    [("FL.2", True), ("general.1", True), ("", True), ("fl.2", False), ("FL.", False)],
)
def test_an_attestation_names_its_wording(wording: str, accepted: bool) -> None:
    """Since 2.2 a record says which state's wording, in which version, was signed."""
    training = every_kind()[5]
    assert isinstance(training, payloads.Training)
    signed = payloads.Attestation("I completed this training myself on 2026-12-06.", "2026-12-06")
    obj = payloads.to_json(dataclasses.replace(training, attestation=signed))
    if wording:
        obj["attestation"]["wording"] = wording
    if not accepted:
        with pytest.raises(protocol.ProtocolError, match=r"attestation\.wording"):
            payloads.parse_payload(payloads.encode(obj))
        return
    parsed = payloads.parse_payload(payloads.encode(obj))
    assert isinstance(parsed, payloads.Training) and parsed.attestation is not None
    assert parsed.attestation.wording == wording and payloads.to_json(parsed) == obj


# --- version 1 and 2 ------------------------------------------------------------

V2_FIELDS = {"report": "update_pk", "update": "sig", "note": "prev", "training": "record_pk"}


@pytest.mark.parametrize("kind", sorted(V2_FIELDS))
def test_a_version_2_payload_without_its_new_field_is_refused(kind: str) -> None:
    payload = next(p for p in every_kind() if p.header.kind == kind)
    obj = {k: v for k, v in payloads.to_json(payload).items() if k != V2_FIELDS[kind]}
    with pytest.raises(protocol.ProtocolError, match=f"payload.{V2_FIELDS[kind]}: missing"):
        payloads.parse_payload(payloads.encode(obj))


@pytest.mark.parametrize("kind", sorted(V2_FIELDS))
def test_a_version_1_payload_parses_without_the_new_field_and_refuses_it(kind: str) -> None:
    payload = next(p for p in every_kind() if p.header.kind == kind)
    obj = {**payloads.to_json(payload), "v": 1}
    with pytest.raises(protocol.ProtocolError, match="unknown field"):
        payloads.parse_payload(payloads.encode(obj))
    del obj[V2_FIELDS[kind]]
    if kind == "note":  # signed: sign it again as version-1 code did
        note = every_kind()[4]
        assert isinstance(note, payloads.Note)
        v1 = dataclasses.replace(
            note, header=dataclasses.replace(note.header, version=1), prev=None
        )
        obj = payloads.to_json(payloads.sign(v1, STAFF, "dana-ortiz"))
    parsed = payloads.parse_payload(payloads.encode(obj))
    assert parsed.header.version == 1
    assert getattr(parsed, "prev" if kind == "note" else V2_FIELDS[kind]) is None


@pytest.mark.parametrize("version", [0, 3, "2", 1.0, True])
def test_other_versions_are_refused(version: object) -> None:
    text = payloads.encode({**payloads.to_json(every_kind()[0]), "v": version})
    with pytest.raises(protocol.ProtocolError, match="version|whole numbers"):
        payloads.parse_payload(text)


def _report_envelope(report: payloads.Report, extra: bytes | None = None) -> protocol.Envelope:
    school = PrivateKey.generate()
    return payloads.seal_payload(
        report, [bytes(school.public_key), report.reply_pk if extra is None else extra]
    )


def test_a_genuine_report_and_update_bind() -> None:
    report = every_kind()[0]
    assert isinstance(report, payloads.Report)
    assert payloads.check_binding(report, _report_envelope(report)) is True
    update = every_kind()[1]
    assert payloads.check_binding(update, _report_envelope(report), report) is True


def _forged_report() -> payloads.Report:
    """What a relay can write: its own keys, under a genuine case id it knows."""
    genuine = every_kind()[0]
    assert isinstance(genuine, payloads.Report)
    forger = protocol.CaseKeys.derive(protocol.new_case_code())
    return dataclasses.replace(
        genuine,
        reply_pk=bytes(forger.reply_key.public_key),
        update_pk=bytes(forger.update_key.verify_key),
    )


@pytest.mark.parametrize(
    ("attack", "problem"),
    [
        ("forged report", "does not match its case id"),
        ("swapped reply_pk", "does not match its case id"),
        ("reply_pk not sealed to", "reply key is not a key its envelope is sealed to"),
    ],
)
def test_a_report_that_does_not_bind_is_refused(attack: str, problem: str) -> None:
    genuine = every_kind()[0]
    assert isinstance(genuine, payloads.Report)
    if attack == "forged report":
        report, envelope = _forged_report(), _report_envelope(_forged_report())
    elif attack == "swapped reply_pk":
        other = bytes(PrivateKey.generate().public_key)
        report = dataclasses.replace(genuine, reply_pk=other)
        envelope = _report_envelope(report)
    else:
        report = genuine
        envelope = _report_envelope(genuine, extra=bytes(PrivateKey.generate().public_key))
    with pytest.raises(protocol.ProtocolError, match=problem):
        payloads.check_binding(report, envelope)


@pytest.mark.parametrize("attack", ["forged signature", "unsigned", "signed by another case"])
def test_an_update_not_signed_by_its_case_is_refused(attack: str) -> None:
    report = every_kind()[0]
    update = every_kind()[1]
    assert isinstance(report, payloads.Report) and isinstance(update, payloads.Update)
    if attack == "forged signature":
        forged = dataclasses.replace(update, text="I'm fine, please close this.")
    elif attack == "unsigned":
        forged = dataclasses.replace(update, sig=None)
    else:
        other = protocol.CaseKeys.derive(protocol.new_case_code())
        forged = payloads.sign_update(update, other.update_key)
    envelope = _report_envelope(report)
    with pytest.raises(protocol.ProtocolError, match="a relay or someone else made it"):
        payloads.check_binding(forged, envelope, report)


def test_version_1_messages_are_not_provable() -> None:
    report = every_kind()[0]
    assert isinstance(report, payloads.Report)
    v1 = dataclasses.replace(report, update_pk=None)
    assert payloads.check_binding(v1, _report_envelope(v1)) is False
    assert payloads.check_binding(every_kind()[1], _report_envelope(v1), v1) is False


@pytest.mark.parametrize("attack", ["genuine", "another id", "not sealed to its key"])
def test_a_training_record_binds_to_its_throwaway_key(attack: str) -> None:
    record = every_kind()[5]
    assert isinstance(record, payloads.Training) and record.record_pk is not None
    record = dataclasses.replace(
        record,
        header=dataclasses.replace(record.header, case_id=protocol.record_id(record.record_pk)),
    )
    sealed_to = record.record_pk
    if attack == "another id":
        record = dataclasses.replace(record, header=every_kind()[0].header)
    elif attack == "not sealed to its key":
        sealed_to = bytes(PrivateKey.generate().public_key)
    envelope = payloads.seal_payload(record, [sealed_to])
    if attack == "genuine":
        assert payloads.check_binding(record, envelope) is True
    else:
        with pytest.raises(protocol.ProtocolError, match="training record"):
            payloads.check_binding(record, envelope)
