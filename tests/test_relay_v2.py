"""The relay's side of protocol version 2: envelope versions, the v1 case lookup, refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from quietdoor import protocol
from quietdoor.encoding import b64u_encode
from relay.app import create_app
from relay.store import SQLStore, v2_since
from relay.throttle import MAX_DELAY, FailedCodes

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import StudentCase, new_case, update

CASES = "/api/v1/cases"
CASE = "/api/v1/case"
ADD = "/api/v1/case/messages"
BASE = "http://127.0.0.1:8000"


def relay_for(td: KeyedDeployment, store: SQLStore, **kw: Any) -> TestClient:
    return TestClient(create_app(td.deployment, store, **kw), base_url=BASE)


def deployment(tmp_path: Path, **limits: Any) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url=BASE, relay=lenient_limits(**limits))


def as_version(body: dict[str, Any], version: int) -> dict[str, Any]:
    """A new case's body with its envelope's version set (the relay reads no further)."""
    return {**body, "envelope": {**body["envelope"], "v": version}}


def upgraded_on(store: SQLStore, day: str) -> None:
    """The store says this relay first ran version 2 on this day."""
    assert store.call("", v2_since, day) == day


@pytest.mark.parametrize("version", [1, 2])
def test_both_versions_are_accepted_in_the_window(
    tmp_path: Path, store: SQLStore, version: int
) -> None:
    td = deployment(tmp_path)
    client = relay_for(td, store)
    case = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=as_version(case.body, version)).status_code == 201
    later = update(td.deployment, case)
    answer = client.post(ADD, json={**later, "v": version}, headers=case.headers)
    assert answer.status_code == 201, answer.text


def test_version_1_is_refused_after_the_window(tmp_path: Path, store: SQLStore) -> None:
    td = deployment(tmp_path, v1_accept_days=30)
    upgraded_on(store, "2020-01-01")
    client = relay_for(td, store)
    case = new_case(td.deployment, "lincoln-high")
    refused = client.post(CASES, json=as_version(case.body, 1))
    assert refused.status_code == 422
    assert refused.json()["error"].startswith("version 1 is no longer accepted")
    assert client.post(CASES, json=as_version(case.body, 2)).status_code == 201
    old_update = {**update(td.deployment, case), "v": 1}
    assert client.post(ADD, json=old_update, headers=case.headers).status_code == 422


def test_the_window_counts_from_the_first_day_and_0_closes_it(
    tmp_path: Path, store: SQLStore
) -> None:
    td = deployment(tmp_path, v1_accept_days=30)
    day = 86_400
    first = time.time()
    relay_for(td, store, clock=lambda: first)  # the first start writes the day, once
    on_day_30 = relay_for(td, store, clock=lambda: first + 29 * day)
    old_case = as_version(new_case(td.deployment, "lincoln-high").body, 1)
    assert on_day_30.post(CASES, json=old_case).status_code == 201
    on_day_31 = relay_for(td, store, clock=lambda: first + 30 * day)
    another = as_version(new_case(td.deployment, "lincoln-high").body, 1)
    assert on_day_31.post(CASES, json=another).status_code == 422
    closed = relay_for(deployment(tmp_path, v1_accept_days=0), store)
    last = as_version(new_case(td.deployment, "lincoln-high").body, 1)
    assert closed.post(CASES, json=last).status_code == 422


def v1_headers(case: StudentCase, v2_id: bytes) -> dict[str, str]:
    """What a version-2 page sends for a code: its v2 id, and the v1 id it also derives."""
    return {**case.headers, "x-qd-case": b64u_encode(v2_id), "x-qd-case-v1": case.case_id}


def test_a_version_1_case_is_found_by_its_v1_id(tmp_path: Path, store: SQLStore) -> None:
    td = deployment(tmp_path)
    client = relay_for(td, store)
    old = new_case(td.deployment, "lincoln-high")  # stored under the id the page sends as v1
    assert client.post(CASES, json=old.body).status_code == 201
    headers = v1_headers(old, bytes(16))
    answer = client.get(CASE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["case_id"] == old.case_id
    assert len(answer.json()["messages"]) == 1
    posted = client.post(ADD, json=update(td.deployment, old), headers=headers)
    assert posted.status_code == 201, posted.text
    # The v2 id first: when both exist, the v2 case answers.
    new = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=new.body).status_code == 201
    both = {**new.headers, "x-qd-case-v1": old.case_id}
    assert client.get(CASE, headers=both).json()["case_id"] == new.case_id


@pytest.mark.parametrize("v1_id", ["", "not base64!", "AAAA", b64u_encode(bytes(16))])
def test_a_wrong_v1_id_is_one_wrong_code(tmp_path: Path, store: SQLStore, v1_id: str) -> None:
    td = deployment(tmp_path)
    codes = FailedCodes(free_failures=1)
    client = relay_for(td, store, failed_codes=codes)
    case = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=case.body).status_code == 201
    wrong = {**case.headers, "x-qd-case": b64u_encode(bytes(16)), "x-qd-case-v1": v1_id}
    answer = client.get(CASE, headers=wrong)
    assert (answer.status_code, answer.json()) == (
        404,
        {"error": "no conversation matches this code"},
    )
    assert codes.failure_delay("another") == 0.0  # one free failure each: the miss took one
    bad_token = {**v1_headers(case, bytes(16)), "authorization": "Bearer " + b64u_encode(bytes(32))}
    assert client.get(CASE, headers=bad_token).status_code == 404


def test_a_saturated_throttle_answers_like_a_wrong_code_and_lets_a_right_one_through(
    tmp_path: Path, store: SQLStore
) -> None:
    td = deployment(tmp_path)
    codes = FailedCodes(max_waiting=0)  # saturated from the start
    client = relay_for(td, store, failed_codes=codes)
    case = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=case.body).status_code == 201
    started = time.monotonic()
    assert client.get(CASE, headers=case.headers).status_code == 200
    assert time.monotonic() - started < MAX_DELAY / 2  # a right code waits for nothing
    typo = new_case(td.deployment, "lincoln-high")
    started = time.monotonic()
    answer = client.get(CASE, headers=typo.headers)
    assert time.monotonic() - started >= MAX_DELAY  # no sooner than the slowest wrong code
    assert (answer.status_code, answer.json()) == (
        404,
        {"error": "no conversation matches this code"},
    )


def test_every_429_says_when_to_retry(tmp_path: Path, store: SQLStore) -> None:
    """A quota no longer refuses (a busy school stays open): the address limit is the 429."""
    limited = relay_for(deployment(tmp_path, address_burst=1, address_per_minute=1), store)
    answers = [limited.get("/api/v1/challenge?school=lincoln-high") for _ in range(3)]
    assert answers[-1].status_code == 429
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_an_envelope_retried_as_another_new_case_is_a_conflict(
    tmp_path: Path, store: SQLStore
) -> None:
    td = deployment(tmp_path)
    client = relay_for(td, store)
    case = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=case.body).status_code == 201
    other_id = b64u_encode(protocol.CaseKeys.derive(protocol.new_case_code()).case_id)
    answer = client.post(CASES, json={**case.body, "case_id": other_id})
    assert answer.status_code == 409
    assert answer.json() == {"error": "this envelope was sent before, to another case"}
    assert client.post(CASES, json=case.body).status_code == 200  # the same retry still is one


def solved_as_documented(challenge: dict[str, Any]) -> str:
    """X-QD-Proof made from docs/PROTOCOL.md alone: nonce and salt hashed as the bytes, not hex."""
    p = challenge["parameters"]
    nonce, salt = bytes.fromhex(p["nonce"]), bytes.fromhex(p["salt"])
    for n in range(p["data"]["tries"]):
        key = hashlib.pbkdf2_hmac("sha256", nonce + n.to_bytes(4, "big"), salt, p["cost"])
        if key[: p["keyLength"]].hex().startswith(p["keyPrefix"]):
            solution = {"counter": n, "derivedKey": key[: p["keyLength"]].hex()}
            document = {"challenge": challenge, "solution": solution}
            return base64.b64encode(json.dumps(document).encode()).decode()
    raise AssertionError("no counter below tries solves it")


def test_a_proof_solved_from_the_docs_is_accepted_and_a_retry_without_one_gets_428(
    tmp_path: Path, store: SQLStore
) -> None:
    td = deployment(tmp_path, proof_of_work=True, proof_of_work_tries=20)
    client = relay_for(td, store)
    challenge = client.get("/api/v1/challenge?school=lincoln-high").json()
    case = new_case(td.deployment, "lincoln-high")
    proof = {"x-qd-proof": solved_as_documented(challenge)}
    assert client.post(CASES, json=case.body, headers=proof).status_code == 201
    assert client.post(CASES, json=case.body, headers=proof).status_code == 200
    assert client.post(CASES, json=case.body).status_code == 428
