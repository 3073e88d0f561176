"""Several relays, one PostgreSQL database: what one relay does, the other sees and respects."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from quietdoor import protocol

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import new_case
from .support.processes import RelayProcess, start_relay, stop_relay
from .support.relay_api import messages_path, signed_headers, solve_proof

pytestmark = pytest.mark.postgres
POST = "/api/v1/cases"
BUDGET = 40  # reports of one size: the school's storage budget holds exactly this many


def stored_bytes(td: KeyedDeployment) -> int:
    """What one report to Lincoln High adds to the school's stored bytes (all are one size)."""
    envelope = new_case(td.deployment, "lincoln-high").body["envelope"]
    return len(protocol.parse_envelope(envelope).canonical())


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    probe = tmp_path / "probe"
    probe.mkdir()
    size = stored_bytes(make_deployment(probe))
    return make_deployment(
        tmp_path,
        relay=lenient_limits(
            proof_of_work=True,
            proof_of_work_tries=4,
            normal_daily_per_school=BUDGET - 1,
            school_budget_bytes=BUDGET * size,
        ),
    )


@pytest.fixture
def pair(td: KeyedDeployment, postgres_url: str, tmp_path: Path) -> Iterator[list[RelayProcess]]:
    relays = [start_relay(td.path, postgres_url, tmp_path) for _ in range(2)]
    try:
        yield relays
    finally:
        for relay in relays:
            if relay.process.poll() is None:
                stop_relay(relay)


def proof_from(relay: RelayProcess, school: str = "lincoln-high") -> dict[str, str]:
    answer = httpx.get(relay.url + f"/api/v1/challenge?school={school}")
    assert answer.status_code == 200, answer.text
    return {"x-qd-proof": solve_proof(answer.json())}


def listing(relay: RelayProcess, td: KeyedDeployment, school: str = "lincoln-high") -> list[Any]:
    rows: list[Any] = []
    while True:
        path = messages_path(school, after=rows[-1]["cursor"] if rows else 0, limit=200)
        answer = httpx.get(
            relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
        )
        assert answer.status_code == 200, answer.text
        rows += answer.json()["messages"]
        if not answer.json()["more"]:
            return rows


def post_through_both(
    relays: list[RelayProcess], td: KeyedDeployment, per_thread: int, threads: int
) -> dict[int, list[str]]:
    """Students posting through both relays at once; the ids each status came with."""
    outcomes: dict[int, list[str]] = {}
    lock = threading.Lock()

    def student(n: int) -> None:
        relay = relays[n % 2]
        for _ in range(per_thread):
            case = new_case(td.deployment, "lincoln-high")
            # The challenge comes from the other relay: they share the secret that signs it.
            headers = proof_from(relays[(n + 1) % 2])
            answer = httpx.post(relay.url + POST, json=case.body, headers=headers, timeout=30)
            for _ in range(3):  # the school got busier meanwhile: solve again, as the page does
                if answer.status_code != 428:
                    break
                headers = proof_from(relay)
                answer = httpx.post(relay.url + POST, json=case.body, headers=headers, timeout=30)
            with lock:
                outcomes.setdefault(answer.status_code, []).append(
                    answer.json().get("id", "") if answer.status_code < 300 else ""
                )

    workers = [threading.Thread(target=student, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return outcomes


def test_two_relays_lose_nothing_duplicate_nothing_and_keep_the_budget_exact(
    pair: list[RelayProcess], td: KeyedDeployment
) -> None:
    outcomes = post_through_both(pair, td, per_thread=8, threads=8)  # 64 posts, room for 40
    assert len(outcomes.get(201, [])) == BUDGET
    assert len(outcomes.get(507, [])) == 64 - BUDGET
    assert set(outcomes) == {201, 507}, {status: len(ids) for status, ids in outcomes.items()}
    for relay in pair:
        rows = listing(relay, td)
        assert sorted(r["id"] for r in rows) == sorted(outcomes[201])  # each once, none lost
        assert [r["cursor"] for r in rows] == list(range(1, BUDGET + 1))  # no gap, no repeat


def test_a_proof_or_a_staff_request_is_spent_once_across_relays(
    pair: list[RelayProcess], td: KeyedDeployment
) -> None:
    first, second = pair
    proof = proof_from(first)
    opened = httpx.post(
        second.url + POST, json=new_case(td.deployment, "lincoln-high").body, headers=proof
    )
    assert opened.status_code == 201, opened.text
    again = httpx.post(
        first.url + POST, json=new_case(td.deployment, "lincoln-high").body, headers=proof
    )
    assert again.status_code == 428 and "used before" in again.json()["error"]
    path = messages_path("lincoln-high")
    signed = signed_headers(td.keys["dana-ortiz"].signing, path)
    assert httpx.get(first.url + path, headers=signed).status_code == 200
    replayed = httpx.get(second.url + path, headers=signed)
    assert replayed.status_code == 401 and "replayed" in replayed.json()["error"]


def test_a_relay_killed_mid_stream_loses_nothing_it_acknowledged(
    pair: list[RelayProcess], td: KeyedDeployment
) -> None:
    doomed, survivor = pair
    acknowledged: list[str] = []
    lock = threading.Lock()
    started = threading.Event()

    def student() -> None:
        for _ in range(30):
            try:
                headers = proof_from(survivor)
                answer = httpx.post(
                    doomed.url + POST,
                    json=new_case(td.deployment, "lincoln-high").body,
                    headers=headers,
                    timeout=10,
                )
            except httpx.HTTPError:
                return  # the relay is gone
            if answer.status_code == 201:
                with lock:
                    acknowledged.append(answer.json()["id"])
                    if len(acknowledged) >= 10:
                        started.set()

    workers = [threading.Thread(target=student) for _ in range(4)]
    for w in workers:
        w.start()
    assert started.wait(60)
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait()
    for w in workers:
        w.join()
    stored = {r["id"] for r in listing(survivor, td)}
    assert acknowledged and set(acknowledged) <= stored
