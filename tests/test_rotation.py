"""Key rotation end to end: new keys, the overlap a real relay grants old pages, and old
envelopes that keep opening; plus the identity file's checks after rotation."""

from __future__ import annotations

import dataclasses
import datetime
import json
import tomllib
from pathlib import Path

import httpx2 as httpx
import pytest

from keytool.identity import load_identity
from quietdoor.config import PreviousKeys, Recipient
from quietdoor.encoding import b64u_decode
from quietdoor.rotation import still_counts

from .support.envelopes import new_case
from .support.keytool import PASS, Leads, case_ref, listed_cases, run_keytool

pytestmark = pytest.mark.usefixtures("keytool_passphrase")


def rotate(capsys: pytest.CaptureFixture[str], home: Path, days: int) -> Recipient:
    """Rotate, and read back the [[recipients]] lines the tool prints for the config."""
    code, out, err = run_keytool(capsys, "--home", home, "rotate", "--overlap-days", days)
    assert code == 0, err
    snippet = tomllib.loads(out[out.index("[[recipients]]") :])["recipients"][0]
    return Recipient(
        id=snippet["id"],
        name=snippet["name"],
        x25519=b64u_decode(snippet["x25519"]),
        ed25519=b64u_decode(snippet["ed25519"]),
        schools=tuple(snippet["schools"]),
        districts=tuple(snippet["districts"]),
        previous=tuple(
            PreviousKeys(b64u_decode(p["x25519"]), b64u_decode(p["ed25519"]), p["until"])
            for p in snippet["previous"]
        ),
    )


def published(leads: Leads, recipient: Recipient, until: datetime.date | None = None) -> Leads:
    """The relay restarted with the config that lists the rotated keys (optionally cut short)."""
    if until is not None:
        recipient = dataclasses.replace(
            recipient,
            previous=tuple(dataclasses.replace(p, until=until) for p in recipient.previous),
        )
    deployment = dataclasses.replace(
        leads.deployment,
        recipients=tuple(
            recipient if r.id == recipient.id else r for r in leads.deployment.recipients
        ),
    )
    leads.restart(deployment, f"config-{until or 'overlap'}.toml")
    return leads


def post(leads: Leads, case_body: dict[str, object]) -> int:
    return httpx.post(leads.relay.url + "/api/v1/cases", json=case_body).status_code


def test_old_and_new_envelopes_open_and_the_overlap_ends_on_its_day(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    before = leads.deployment  # what a student's cached page seals to
    first = leads.post("before the rotation, marker 1111")

    today = datetime.datetime.now(datetime.UTC).date()  # `until` is a UTC day
    rotated = rotate(capsys, leads.home, 7)
    old_x25519 = before.recipients[0].x25519
    assert rotated.x25519 != old_x25519
    assert [(p.x25519, p.until) for p in rotated.previous] == [
        (old_x25519, today + datetime.timedelta(days=7))
    ]

    # Before the new config is published, the tool still signs with the published key.
    leads.fetch(capsys)
    ref = case_ref(capsys, leads.home, first)
    code, _, err = run_keytool(
        capsys, "--home", leads.home, "note", ref, "--status", "referred", "--disposition", "cps"
    )
    assert code == 0, err

    published(leads, rotated)
    cached = new_case(before, "lincoln-high", "cached page, marker 2222")
    assert post(leads, cached.body) == 201  # sealed to the old key, inside the overlap
    fresh = leads.post("new page, marker 3333")
    leads.fetch(capsys)  # now signed with the new key, which the relay knows
    cases = listed_cases(capsys, leads.home)
    assert {c["case_id"] for c in cases} == {first.case_id, cached.case_id, fresh.case_id}
    for case in (first, cached, fresh):
        code, out, err = run_keytool(
            capsys, "--home", leads.home, "show", case_ref(capsys, leads.home, case)
        )
        assert code == 0 and "skipped" not in err, err
    # The colleague still trusts the note the old key signed.
    leads.fetch(capsys, leads.colleague)
    status = {c["case_id"]: c["status"] for c in listed_cases(capsys, leads.colleague)}
    assert status[first.case_id] == "referred"

    published(leads, rotated, until=today - datetime.timedelta(days=1))
    late = new_case(before, "lincoln-high", "cached page after the overlap")
    assert post(leads, late.body) == 422
    leads.fetch(capsys)
    assert len(listed_cases(capsys, leads.home)) == 3


def test_a_rotated_identity_keeps_every_key_and_checks_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = load_identity(home, PASS)
    rotate(capsys, home, 0)
    rotate(capsys, home, 30)
    again = load_identity(home, PASS)
    assert len(again.previous) == 2 and again.previous[1].x25519 == first.keys.x25519
    assert bytes(again.box_keys[-1]) == bytes(first.box_key)
    text = (home / "identity.json").read_text()
    assert bytes(first.box_key).hex() not in text

    # A file whose listed public keys do not match its sealed private keys is refused.
    doc = json.loads(text)
    doc["previous"][0]["x25519"], doc["previous"][1]["x25519"] = (
        doc["previous"][1]["x25519"],
        doc["previous"][0]["x25519"],
    )
    (home / "identity.json").write_text(json.dumps(doc))
    code, _, err = run_keytool(capsys, "--home", home, "list")
    assert code == 1 and "keys do not match" in err


@pytest.mark.parametrize("days", ["-1", "400", "soon"])
def test_rotate_refuses_a_bad_overlap(
    home: Path, capsys: pytest.CaptureFixture[str], days: str
) -> None:
    before = (home / "identity.json").read_text()
    with pytest.raises(SystemExit):
        run_keytool(capsys, "--home", home, "rotate", "--overlap-days", days)
    assert "days from 0 to 366" in capsys.readouterr().err
    assert (home / "identity.json").read_text() == before


@pytest.mark.parametrize(
    ("when", "counts"),
    [
        (datetime.date(2026, 12, 6), True),
        (datetime.date(2026, 12, 7), False),
        (datetime.datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=datetime.UTC), True),
        (datetime.datetime(2026, 12, 7, 0, 0, tzinfo=datetime.UTC), False),
        # The day is UTC's: 19:00 at UTC-5 on the 6th is already the 7th.
        (
            datetime.datetime(
                2026, 12, 6, 19, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
            ),
            False,
        ),
    ],
)
def test_a_rotated_key_counts_to_the_end_of_its_last_day(when: datetime.date, counts: bool) -> None:
    assert still_counts(datetime.date(2026, 12, 6), when) is counts


def test_a_moment_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        still_counts(datetime.date(2026, 12, 6), datetime.datetime(2026, 12, 6, 12, 0))
