"""Flood friction: the proof of work (ALTCHA's format) and the per-address limits."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from relay.addresses import AddressLimits
from relay.app import create_app
from relay.proof import ProofError, Proofs, tries_for
from relay.store import SQLStore

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import new_case, update
from .support.paths import ROOT
from .support.relay_api import solve_proof

SECRET = bytes(range(32))
CASES = "/api/v1/cases"


def test_difficulty_rises_from_normal_to_the_quota() -> None:
    assert [tries_for(c, 50, 450, 40) for c in (0, 50)] == [40, 40]
    assert tries_for(100, 50, 450, 40) == 80  # a step of 50 doubles it
    assert tries_for(450, 50, 450, 40) == 40 * 256
    assert tries_for(10_000, 50, 450, 40) == 40 * 256  # never more than at the quota


def solved(proofs: Proofs, school: str = "lincoln-high", tries: int = 20) -> str:
    return solve_proof(proofs.challenge(school, tries, busy=False))


def test_a_solved_challenge_is_accepted_for_its_school_only() -> None:
    proofs = Proofs(SECRET)
    header = solved(proofs)
    spent = proofs.check(header, "lincoln-high", fewest_tries=10)
    assert len(spent.nonce) == 32 and spent.expires % 600 == 0
    with pytest.raises(ProofError, match="another school"):
        proofs.check(header, "riverside-middle", 10)
    with pytest.raises(ProofError, match="busier now"):
        proofs.check(header, "lincoln-high", 21)
    with pytest.raises(ProofError, match="not made by this relay"):
        Proofs(bytes(32)).check(header, "lincoln-high", 10)


def test_an_expired_challenge_is_refused() -> None:
    made_earlier = Proofs(SECRET, clock=lambda: time.time() - 3 * 3600)
    with pytest.raises(ProofError, match="expired"):
        Proofs(SECRET).check(solved(made_earlier), "lincoln-high", 1)
    later = Proofs(SECRET, clock=lambda: time.time() + 3 * 3600)
    with pytest.raises(ProofError, match="expired"):
        later.check(solved(Proofs(SECRET)), "lincoln-high", 1)


def tampered(header: str, change: Any) -> str:
    payload = json.loads(base64.b64decode(header))
    change(payload)
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("name", "change", "words"),
    [
        ("another key", lambda p: p["solution"].update(derivedKey="00" * 32), "not solved"),
        ("more tries", lambda p: p["challenge"]["parameters"]["data"].update(tries=999), "not"),
        ("other school", lambda p: p["challenge"]["parameters"]["data"].update(school="x"), "not"),
        ("cheaper", lambda p: p["challenge"]["parameters"].update(cost=1), "not made by"),
        ("unknown field", lambda p: p["solution"].update(extra=1), "unknown field"),
        ("no signature", lambda p: p["challenge"].pop("signature"), "exactly"),
        ("counter as text", lambda p: p["solution"].update(counter="1"), "whole number"),
        ("nonce not hex", lambda p: p["challenge"]["parameters"].update(nonce="zz"), "hex"),
    ],
)
def test_a_changed_proof_is_refused(name: str, change: Any, words: str) -> None:
    proofs = Proofs(SECRET)
    with pytest.raises(ProofError, match=words):
        proofs.check(tampered(solved(proofs), change), "lincoln-high", 1)


@pytest.mark.parametrize(
    "header",
    [None, "", "!!!", "e30=", base64.b64encode(b"[" * 100).decode(), "A" * 5000, "bnVsbA=="],
)
def test_a_missing_or_malformed_proof_is_refused(header: str | None) -> None:
    with pytest.raises(ProofError):
        Proofs(SECRET).check(header, "lincoln-high", 1)


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()))
def test_any_header_is_refused_cleanly(header: str) -> None:
    with pytest.raises(ProofError):
        Proofs(SECRET).check(header, "lincoln-high", 1)


def test_the_browser_solver_solves_what_the_relay_checks(tmp_path: Path) -> None:
    """site/js/proof.js under node's WebCrypto, against a challenge the relay made."""
    node = shutil.which("node")
    assert node is not None, "node is needed to test the page's solver (see README)"
    proofs = Proofs(SECRET)
    challenge = proofs.challenge("lincoln-high", 30, busy=False)
    script = (
        "const p = require(process.argv[1]);"
        "const c = JSON.parse(process.argv[2]);"
        "p.solve(c).then(s => process.stdout.write(p.payload(c, s)));"
    )
    result = subprocess.run(
        [node, "-e", script, str(ROOT / "site" / "js" / "proof.js"), json.dumps(challenge)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spent = proofs.check(result.stdout, "lincoln-high", 15)
    assert spent.nonce == challenge["parameters"]["nonce"]
    sent = json.loads(base64.b64decode(result.stdout))
    assert "time" not in sent["solution"]  # the page does not say how long it took


# --- per-address limits -------------------------------------------------------------


def scope(client: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (client, 5000), "headers": headers}


def test_an_address_gets_a_burst_then_a_trickle_and_others_are_untouched() -> None:
    now = [0.0]
    limits = AddressLimits(burst=3, per_minute=6, clock=lambda: now[0])
    assert [limits.allow(scope("192.0.2.1")) for _ in range(4)] == [True, True, True, False]
    assert limits.allow(scope("192.0.2.2"))  # another address has its own bucket
    now[0] += 10  # six a minute: one token every ten seconds
    assert limits.allow(scope("192.0.2.1")) and not limits.allow(scope("192.0.2.1"))


def test_ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() -> None:
    limits = AddressLimits(burst=1, per_minute=1)
    assert limits.allow(scope("2001:db8:1:2::1"))
    assert not limits.allow(scope("2001:db8:1:2::ffff"))  # the same /64
    assert limits.allow(scope("2001:db8:1:3::1"))
    assert limits.allow(scope("198.51.100.7"))
    assert not limits.allow(scope("::ffff:198.51.100.7"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "counted_as"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: the header is ignored
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "198.51.100.66, 198.51.100.1", "198.51.100.1"),  # the client's claim is not
        ("10.0.0.5", "198.51.100.1, 10.0.0.7", "198.51.100.1"),  # trusted hops are skipped
        ("10.0.0.5", "garbage", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
    ],
)
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    peer: str, forwarded: str | None, counted_as: str
) -> None:
    limits = AddressLimits(burst=1, per_minute=1, trusted_proxies=("10.0.0.0/24",))
    assert str(limits.client(scope(peer, forwarded))) == counted_as


def test_no_address_is_kept_in_the_clear() -> None:
    limits = AddressLimits(burst=2, per_minute=1)
    limits.allow(scope("198.51.100.23"))
    assert all(b"198.51.100.23" not in key for key in limits._buckets)  # keyed hashes only


# --- the relay with friction on -----------------------------------------------------


@pytest.fixture
def guarded(tmp_path: Path) -> KeyedDeployment:
    """Proof of work on, a low normal volume, no per-address limit (the test client is one)."""
    return make_deployment(
        tmp_path,
        base_url="http://127.0.0.1:8000",
        relay=lenient_limits(
            proof_of_work=True,
            proof_of_work_tries=8,
            normal_daily_per_school=2,
            daily_quota_per_school=10,
        ),
    )


def challenge(client: TestClient, school: str = "lincoln-high") -> dict[str, Any]:
    answer = client.get(f"/api/v1/challenge?school={school}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    made: dict[str, Any] = answer.json()
    return made


def test_a_new_case_needs_a_fresh_proof_and_each_proof_works_once(
    guarded: KeyedDeployment, store: SQLStore
) -> None:
    client = TestClient(create_app(guarded.deployment, store), base_url="http://127.0.0.1:8000")
    d = guarded.deployment
    case = new_case(d, "lincoln-high")
    missing = client.post(CASES, json=case.body)
    assert missing.status_code == 428 and "X-QD-Proof" in missing.json()["error"]
    proof = solve_proof(challenge(client))
    assert client.post(CASES, json=case.body, headers={"x-qd-proof": proof}).status_code == 201
    # The phone lost the answer and sends the same envelope again: the first answer.
    assert client.post(CASES, json=case.body, headers={"x-qd-proof": proof}).status_code == 200
    again = client.post(CASES, json=new_case(d, "lincoln-high").body, headers={"x-qd-proof": proof})
    assert again.status_code == 428 and "used before" in again.json()["error"]
    other = solve_proof(challenge(client, "riverside-middle"))
    wrong = client.post(CASES, json=new_case(d, "lincoln-high").body, headers={"x-qd-proof": other})
    assert wrong.status_code == 428 and "another school" in wrong.json()["error"]
    assert client.get("/api/v1/challenge?school=atlantis").status_code == 404


def test_a_busy_school_gets_harder_challenges_and_updates_need_proofs(
    guarded: KeyedDeployment, store: SQLStore
) -> None:
    client = TestClient(create_app(guarded.deployment, store), base_url="http://127.0.0.1:8000")
    d = guarded.deployment
    normal = challenge(client)["parameters"]["data"]
    assert normal == {"school": "lincoln-high", "tries": 8, "busy": False}
    case = new_case(d, "lincoln-high")
    proof = {"x-qd-proof": solve_proof(challenge(client))}
    assert client.post(CASES, json=case.body, headers=proof).status_code == 201
    # At normal volume a student's later message needs no proof.
    assert (
        client.post("/api/v1/case/messages", json=update(d, case), headers=case.headers).status_code
        == 201
    )
    for _ in range(2):
        proof = {"x-qd-proof": solve_proof(challenge(client))}
        assert (
            client.post(CASES, json=new_case(d, "lincoln-high").body, headers=proof).status_code
            == 201
        )
    busy = challenge(client)["parameters"]["data"]
    assert busy["busy"] is True and busy["tries"] > 8
    assert challenge(client, "riverside-middle")["parameters"]["data"]["busy"] is False
    refused = client.post("/api/v1/case/messages", json=update(d, case), headers=case.headers)
    assert refused.status_code == 428
    proof = {"x-qd-proof": solve_proof(challenge(client))}
    added = client.post(
        "/api/v1/case/messages", json=update(d, case), headers={**case.headers, **proof}
    )
    assert added.status_code == 201, added.text


def test_a_flood_from_one_address_gets_429_before_its_body_is_read(
    tmp_path: Path, store: SQLStore
) -> None:
    td = make_deployment(
        tmp_path,
        base_url="http://127.0.0.1:8000",
        relay=lenient_limits(address_burst=2, address_per_minute=1),
    )
    client = TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000")
    answers = [
        client.post(CASES, json=new_case(td.deployment, "lincoln-high").body) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429, 429]
    assert "wait a minute" in answers[2].json()["error"]
    assert client.get("/api/v1/challenge?school=lincoln-high").status_code == 429
