"""Version 2 against a relay that forges: the key tool and the desk refuse or flag each attack
(issue 21) and still show the genuine messages, on SQLite and on PostgreSQL. The relay is
tests/support/hostile_relay.py: a real HTTP server serving the real relay's database as an
attacker would.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from starlette.testclient import TestClient

from keytool.chain import REORDERED
from keytool.desk.app import create_desk
from keytool.desk.runtime import DeskRuntime
from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_encode

from .support.envelopes import StudentCase, relay_keys, report_payload, school_keys
from .support.hostile_relay import HostileRelay, Rows, forged_row, hostile_relay
from .support.keytool import PASS, Leads, run_keytool
from .support.version1 import new_case_v1, update_v1

pytestmark = pytest.mark.usefixtures("keytool_passphrase")

SCHOOL = "lincoln-high"
GENUINE = "marker 4242: he waits for me after practice"
PORT = 47125
Capsys = pytest.CaptureFixture[str]


def _sealed(leads: Leads, payload: payloads.Payload, *extra: bytes) -> dict[str, Any]:
    keys = [*school_keys(leads.deployment, SCHOOL), *extra]
    return payloads.seal_payload(payload, keys).to_json()


def _inject(hostile: HostileRelay, row: dict[str, Any], first: bool = False) -> None:
    hostile.tamper = lambda rows: [row, *rows] if first else [*rows, row]


def _note(leads: Leads, capsys: Capsys, case: StudentCase, status: str, home: Path) -> None:
    ref = _ref(leads, capsys, case, home)
    code, _, err = run_keytool(
        capsys, "--home", home, "--config", leads.config, "note", ref, "--status", status
    )
    assert code == 0, err


def _ref(leads: Leads, capsys: Capsys, case: StudentCase, home: Path) -> str:
    leads.fetch(capsys, home)
    code, out, err = run_keytool(capsys, "--home", home, "--config", leads.config, "list", "--json")
    assert code == 0, err
    return str(next(c["id"] for c in json.loads(out)["cases"] if c["case_id"] == case.case_id))


# Each attack: set the hostile relay up; what the reader must say (a refusal, or a flag).
Attack = Callable[[Leads, Capsys, HostileRelay, StudentCase], None]


def forged_report(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    forger = relay_keys(case.keys.case_id)
    report = report_payload(SCHOOL, forger, "FORGED: all fine now", "yes")
    env = _sealed(leads, report, report.reply_pk)
    _inject(hostile, forged_row(env, case.case_id, "public", "2026-12-01"), first=True)


def forged_update(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    forger = relay_keys(case.keys.case_id)
    draft = payloads.Update(
        payloads.Header.new("update", SCHOOL, case.keys.case_id), "en", "FORGED: close it"
    )
    env = _sealed(leads, payloads.sign_update(draft, forger.update_key))
    _inject(hostile, forged_row(env, case.case_id, "student", "2026-12-01"))


def downgraded_report(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    """A version-1 report (nothing binds it) served first in a version-2 case, within the
    upgrade window: refused all the same."""
    forger = relay_keys(case.keys.case_id)
    report = report_payload(SCHOOL, forger, "FORGED: all fine now", "yes")
    old = dataclasses.replace(
        report, header=dataclasses.replace(report.header, version=1), update_pk=None
    )
    keys = [*school_keys(leads.deployment, SCHOOL), old.reply_pk]
    env = dataclasses.replace(payloads.seal_payload(old, keys), version=1).to_json()
    _inject(hostile, forged_row(env, case.case_id, "public", "2026-12-01"), first=True)


def swapped_reply_pk(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    """A report whose reply key is not the extra key its envelope is sealed to."""
    own = protocol.CaseKeys.derive(protocol.new_case_code())
    report = report_payload(SCHOOL, own, "FORGED: reply key swapped", "yes")
    env = _sealed(leads, report, bytes(PrivateKey.generate().public_key))
    _inject(hostile, forged_row(env, b64u_encode(own.case_id), "public", "2026-12-01"))


def second_report(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    report = report_payload(SCHOOL, case.keys, "FORGED: a second report", "yes")
    env = _sealed(leads, report, report.reply_pk)
    _inject(hostile, forged_row(env, case.case_id, "public", "2026-12-01"))


def replayed_reply(leads: Leads, capsys: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    other = leads.post("another student's report")
    ref = _ref(leads, capsys, other, leads.home)
    code, _, err = run_keytool(
        capsys,
        "--home",
        leads.home,
        "--config",
        leads.config,
        "reply",
        ref,
        "--message",
        "FORGED: meant for another case",
    )
    assert code == 0, err
    hostile.tamper = lambda rows: [
        *rows,
        *(
            {**r, "id": "ab" * 12, "case_id": case.case_id}
            for r in rows
            if r["author"] == "staff" and r["case_id"] == other.case_id
        ),
    ]


def unknown_signer(leads: Leads, _: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    draft = payloads.Reply(
        payloads.Header.new("reply", SCHOOL, case.keys.case_id),
        "FORGED: this case is closed",
        payloads.Signer(id="dana-ortiz", key=b""),
    )
    signed = payloads.sign(draft, SigningKey.generate(), "dana-ortiz")
    env = _sealed(leads, signed, bytes(case.keys.reply_key.public_key))
    _inject(hostile, forged_row(env, case.case_id, "staff", "2026-12-01"))


def reordered_notes(leads: Leads, capsys: Capsys, hostile: HostileRelay, case: StudentCase) -> None:
    _note(leads, capsys, case, "closed", leads.home)
    _note(leads, capsys, case, "in_progress", leads.home)

    def swap(rows: Rows) -> Rows:
        notes = [i for i, r in enumerate(rows) if r["case_id"] is None]
        rows[notes[0]], rows[notes[1]] = rows[notes[1]], rows[notes[0]]
        return rows

    hostile.tamper = swap


def forked_notes(leads: Leads, capsys: Capsys, _: HostileRelay, case: StudentCase) -> None:
    """Two colleagues change the status at once: neither has the other's note yet."""
    leads.fetch(capsys, leads.colleague)
    _note(leads, capsys, case, "closed", leads.home)
    ref = _ref(leads, capsys, case, leads.home)
    code, _, err = run_keytool(
        capsys,
        "--home",
        leads.colleague,
        "--config",
        leads.config,
        "note",
        ref,
        "--status",
        "referred",
    )
    assert code == 0, err


REFUSED = {
    forged_report: "does not match its case id",
    forged_update: "not signed with its case's key",
    swapped_reply_pk: "reply key is not a key its envelope is sealed to",
    second_report: "a case has one report; this second one is refused",
    downgraded_report: "a version-1 report in a case whose report is version 2",
    replayed_reply: "written for another case",
    unknown_signer: "signed by a key that is not this school's",
}
FLAGGED = {reordered_notes: REORDERED, forked_notes: "changed by two colleagues at once"}
ATTACKS = [*REFUSED, *FLAGGED]


def _read_as_colleague(
    leads: Leads, capsys: Capsys, hostile: HostileRelay
) -> tuple[dict[str, Any], str]:
    home = leads.colleague
    code, _, err = run_keytool(
        capsys, "--home", home, "--config", leads.config, "fetch", "--relay", hostile.url
    )
    assert code == 0, err
    code, out, err = run_keytool(capsys, "--home", home, "--config", leads.config, "list", "--json")
    assert code == 0 and "Traceback" not in err
    return json.loads(out), err


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__)
def test_the_key_tool_refuses_or_flags_what_a_relay_forges(
    leads_on: Leads, capsys: Capsys, attack: Attack
) -> None:
    """On each store: the hostile relay reads the real relay's SQLite file or schema."""
    leads = leads_on
    case = leads.post(GENUINE, safe_now="no")
    with hostile_relay(leads.relay, SCHOOL) as hostile:
        attack(leads, capsys, hostile, case)
        listing, err = _read_as_colleague(leads, capsys, hostile)
        genuine = next(c for c in listing["cases"] if c["case_id"] == case.case_id)
        assert genuine["safe_now"] == "no" and genuine["provable"] is True
        code, out, _ = run_keytool(
            capsys, "--home", leads.colleague, "--config", leads.config, "show", genuine["id"]
        )
        assert code == 0 and GENUINE in out and "FORGED" not in out
        if attack in REFUSED:
            reasons = [u["reason"] for u in listing["unreadable"]]
            assert any(REFUSED[attack] in r for r in reasons), reasons
            assert all("FORGED" not in json.dumps(c) for c in listing["cases"])
        elif attack is forked_notes:
            assert genuine["fork"] is True and "changed by two colleagues at once" in out
            shown = json.loads(
                run_keytool(
                    capsys,
                    "--home",
                    leads.colleague,
                    "--config",
                    leads.config,
                    "show",
                    genuine["id"],
                    "--json",
                )[1]
            )
            assert {n["payload"]["status"] for n in shown["notes"]} == {"closed", "referred"}
        else:
            assert genuine["status"] == "in_progress" and REORDERED in err

        desk = _desk_pages(leads, hostile, genuine["id"])
        assert GENUINE in desk and "FORGED" not in desk
        if attack is swapped_reply_pk:  # its own case, never listed: the inbox counts it
            assert "1 message could not be read and is not shown" in desk
        else:
            assert (REFUSED.get(attack) or FLAGGED[attack]).lower() in desk.lower()


def _desk_pages(leads: Leads, hostile: HostileRelay, ref: str) -> str:
    """The desk of the colleague, as a browser GETs its inbox and the case."""
    runtime = DeskRuntime(leads.colleague, str(leads.config), hostile.url)
    base = f"http://127.0.0.1:{PORT}"
    app = create_desk(runtime, "127.0.0.1", PORT, peer_ok=None)  # in-process: no socket to check
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        assert client.get(f"/open?key={runtime.link_secret}").status_code == 303
        unlocked = client.post("/unlock", data={"passphrase": PASS}, headers={"origin": base})
        assert unlocked.status_code == 303
        inbox = client.get("/")
        page = client.get(f"/case/{ref}")
        assert inbox.status_code == 200 and page.status_code == 200
        return html.unescape(inbox.text + page.text)


def test_a_version_1_case_still_opens_labelled(leads: Leads, capsys: Capsys) -> None:
    """A case made as the code before version 2 made it: v1 ids, payloads and envelopes."""
    old = leads.open(new_case_v1(leads.deployment, SCHOOL, "OLD-CASE marker 1717", "unsure"))
    assert leads.thread(old)[0].header.version == 1  # the student still reads it with the code
    posted = httpx.post(
        leads.relay.url + "/api/v1/case/messages",
        json=update_v1(leads.deployment, old, "OLD-UPDATE marker 1818"),
        headers=old.headers,
    )
    assert posted.status_code in (200, 201), posted.text
    leads.fetch(capsys)
    code, out, err = run_keytool(
        capsys, "--home", leads.home, "--config", leads.config, "list", "--json"
    )
    assert code == 0, err
    listed = next(c for c in json.loads(out)["cases"] if c["case_id"] == old.case_id)
    assert listed["provable"] is False and listed["origin"] == payloads.NOT_PROVABLE
    code, out, _ = run_keytool(
        capsys, "--home", leads.home, "--config", leads.config, "show", listed["id"]
    )
    assert "OLD-CASE marker 1717" in out and "OLD-UPDATE marker 1818" in out
    assert out.count(payloads.NOT_PROVABLE) >= 3  # the case, its report, its update
