"""Flood friction: the proof of work (ALTCHA's format) and the per-address limits."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import logging
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from quietdoor.config import Deployment
from relay.addresses import AddressLimits
from relay.app import create_app
from relay.proof import BUSY_FACTOR, ProofError, Proofs, tries_for
from relay.store import SQLStore

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import StudentCase, new_case, staff_message, update
from .support.paths import ROOT
from .support.relay_api import as_body, reply_path, signed_headers, solve_proof

SECRET = bytes(range(32))
CASES = "/api/v1/cases"
ADD = "/api/v1/case/messages"


@pytest.mark.parametrize(
    ("count", "tries"),
    [(0, 40), (50, 40), (51, 40 * BUSY_FACTOR), (450, 40 * BUSY_FACTOR), (10**9, 40 * BUSY_FACTOR)],
)
def test_a_challenge_is_normal_or_busy_and_nothing_between(count: int, tries: int) -> None:
    assert tries_for(count, 50, 40) == tries


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
    assert [limits.allow(scope("192.0.2.1")) for _ in range(3)] == [True, True, True]
    assert limits.wait(scope("192.0.2.1")) == pytest.approx(10.0)  # when to try again
    assert limits.allow(scope("192.0.2.2"))  # another address has its own bucket
    now[0] += 10  # six a minute: one token every ten seconds
    assert limits.allow(scope("192.0.2.1")) and not limits.allow(scope("192.0.2.1"))


def test_mapped_ipv4_counts_as_ipv4() -> None:
    limits = AddressLimits(burst=1, per_minute=1)
    assert limits.allow(scope("198.51.100.7"))
    assert not limits.allow(scope("::ffff:198.51.100.7"))


def granted(limits: AddressLimits, addresses: list[str]) -> int:
    return sum(limits.allow(scope(a)) for a in addresses)


@pytest.mark.parametrize(
    ("spread", "burst"),
    [
        ("2001:db8:1:200::{:x}", 2),  # one /64: its own burst
        ("2001:db8:1:2{:02x}::1", 8),  # the /64s of one /56: the /56's burst, 4 times as large
        ("2001:db8:1:{:x}00::1", 32),  # /64s in the /56s of one /48: 16 times as large
        ("2001:db8:{:x}::1", 2 * 64),  # 64 /48s: each has its own burst
    ],
)
def test_ipv6_counts_by_its_64_56_and_48_together(spread: str, burst: int) -> None:
    """Addresses spread over one /64, /56 or /48 share that prefix's bucket."""
    limits = AddressLimits(burst=2, per_minute=1, clock=lambda: 0.0)
    assert granted(limits, [spread.format(i) for i in range(64) for _ in range(4)]) == burst


@given(st.sets(st.integers(0, 2**16 - 1), min_size=20, max_size=60), st.integers(0, 2**64 - 1))
def test_any_addresses_of_one_48_share_its_bucket(subnets: set[int], host: int) -> None:
    """Whatever /64s of a /48 a flooder uses, each /56 grants at most 4 times the /64's
    burst, and the /48 at most 16 times."""
    limits = AddressLimits(burst=1, per_minute=1, clock=lambda: 0.0)
    prefix = 0x2001_0DB8_0042 << 80
    addresses = [str(ipaddress.IPv6Address(prefix | subnet << 64 | host)) for subnet in subnets]
    per_56 = Counter(subnet >> 8 for subnet in subnets)
    assert granted(limits, addresses * 2) == min(16, sum(min(4, n) for n in per_56.values()))
    assert limits.allow(scope("2001:db8:43::1"))  # the next /48 is untouched


def test_a_refused_request_takes_no_token_from_the_wider_buckets() -> None:
    limits = AddressLimits(burst=1, per_minute=1, clock=lambda: 0.0)
    assert granted(limits, ["2001:db8:1:1::1"] * 50) == 1  # the /64 is dry, the /56 is not
    assert granted(limits, [f"2001:db8:1:{i:x}::1" for i in range(2, 5)]) == 3


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


def add(client: TestClient, d: Deployment, case: StudentCase, proof: str = "") -> int:
    """A student's update to the case, with a proof when given; the answer's status."""
    headers = {**case.headers, **({"x-qd-proof": proof} if proof else {})}
    return client.post(ADD, json=update(d, case), headers=headers).status_code


def test_a_busy_school_gets_busy_challenges_and_never_refuses_for_its_quota(
    guarded: KeyedDeployment, store: SQLStore
) -> None:
    client = TestClient(create_app(guarded.deployment, store), base_url="http://127.0.0.1:8000")
    d = guarded.deployment
    normal = challenge(client)["parameters"]["data"]
    assert normal == {"school": "lincoln-high", "tries": 8, "busy": False}
    early = solve_proof(challenge(client))  # a normal challenge, solved before the rush
    case = new_case(d, "lincoln-high")
    proof = {"x-qd-proof": solve_proof(challenge(client))}
    assert client.post(CASES, json=case.body, headers=proof).status_code == 201
    assert add(client, d, case) == 201  # at normal volume a student's update needs no proof
    for _ in range(12):  # past normal (2) and past the quota (10): accepted, at busy difficulty
        proof = {"x-qd-proof": solve_proof(challenge(client))}
        answer = client.post(CASES, json=new_case(d, "lincoln-high").body, headers=proof)
        assert answer.status_code == 201, answer.text
    busy = challenge(client)["parameters"]["data"]
    assert busy == {"school": "lincoln-high", "tries": 8 * BUSY_FACTOR, "busy": True}
    assert challenge(client, "riverside-middle")["parameters"]["data"]["busy"] is False
    too_easy = client.post(
        CASES, json=new_case(d, "lincoln-high").body, headers={"x-qd-proof": early}
    )
    assert too_easy.status_code == 428 and "busier" in too_easy.json()["error"]
    assert add(client, d, case) == 428  # while busy, every update needs a proof
    assert add(client, d, case, solve_proof(challenge(client))) == 201


def test_a_case_gets_three_free_updates_a_day_then_needs_proofs(
    guarded: KeyedDeployment, store: SQLStore
) -> None:
    """Whatever the school's state: here it is never busy (its normal volume is high)."""
    d = dataclasses.replace(
        guarded.deployment,
        relay=dataclasses.replace(guarded.deployment.relay, normal_daily_per_school=9),
    )
    client = TestClient(create_app(d, store), base_url="http://127.0.0.1:8000")
    case = new_case(d, "lincoln-high")
    proof = {"x-qd-proof": solve_proof(challenge(client))}
    assert client.post(CASES, json=case.body, headers=proof).status_code == 201
    assert [add(client, d, case) for _ in range(4)] == [201, 201, 201, 428]
    assert challenge(client)["parameters"]["data"]["busy"] is False
    assert add(client, d, case, "not a proof") == 428
    assert add(client, d, case, solve_proof(challenge(client))) == 201
    other = new_case(d, "lincoln-high")  # another case has its own free updates
    proof = {"x-qd-proof": solve_proof(challenge(client))}
    assert client.post(CASES, json=other.body, headers=proof).status_code == 201
    assert add(client, d, other) == 201


def test_at_the_budget_new_cases_and_updates_get_507_and_staff_still_write(
    tmp_path: Path, store: SQLStore, caplog: pytest.LogCaptureFixture
) -> None:
    td = make_deployment(tmp_path)
    case = new_case(td.deployment, "lincoln-high")
    size = len(json.dumps(case.body["envelope"], separators=(",", ":")))  # as the relay keeps it
    limits = lenient_limits(school_budget_bytes=3 * size + size // 2)  # a case and two updates
    d = dataclasses.replace(td.deployment, relay=limits)
    client = TestClient(create_app(d, store), base_url="http://127.0.0.1:8000")
    assert client.post(CASES, json=case.body).status_code == 201
    assert add(client, d, case) == 201 and add(client, d, case) == 201
    caplog.set_level(logging.WARNING, logger="relay")
    refused = [
        client.post(CASES, json=new_case(d, "lincoln-high").body),
        client.post(ADD, json=update(d, case), headers=case.headers),
    ]
    for answer in refused:
        assert answer.status_code == 507
        assert answer.json() == {"error": answer.json()["error"], "full": True}
        assert "hotline" in answer.json()["error"]
    lines = [r for r in caplog.records if getattr(r, "event", "") == "budget"]
    assert len(lines) == 1 and "lincoln-high" in lines[0].getMessage()  # one line a school a day
    # A retry of what is stored gets its first answer; staff still reply; others are untouched.
    assert client.post(CASES, json=case.body).status_code == 200
    reply = staff_message(d, case, "dana-ortiz", td.keys["dana-ortiz"].signing, "we hear you")
    body = as_body(reply)
    headers = signed_headers(td.keys["dana-ortiz"].signing, reply_path(case), "POST", body)
    assert client.post(reply_path(case), content=body, headers=headers).status_code == 201
    assert client.post(CASES, json=new_case(d, "riverside-middle").body).status_code == 201
    metrics = client.get("/metrics").text
    assert "quietdoor_relay_budget_refusals_total 2.0" in metrics
    described = client.get("/api/openapi.json").json()["paths"]
    for path in (CASES, ADD):
        full = described[path]["post"]["responses"]["507"]["content"]["application/json"]
        assert full["schema"]["properties"]["full"] == {"const": True}
    assert "lincoln-high" not in metrics


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
    assert answers[2].headers["retry-after"] == "60"  # a token a minute
    assert client.get("/api/v1/challenge?school=lincoln-high").status_code == 429
