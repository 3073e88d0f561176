"""A real relay (uvicorn in its own process, on a free loopback port) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from nacl.signing import SigningKey

from .support.deployments import KeyedDeployment, lenient_limits, make_deployment
from .support.envelopes import StudentCase, new_case, update
from .support.processes import RelayProcess, start_relay, stop_relay
from .support.relay_api import messages_path, signed_headers, solve_proof

POST = "/api/v1/cases"


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path)


@pytest.fixture
def relay(td: KeyedDeployment, store_url: str, tmp_path: Path) -> Iterator[RelayProcess]:
    process = start_relay(td.path, store_url, tmp_path)
    try:
        yield process
    finally:
        stop_relay(process)


def listed(relay: RelayProcess, td: KeyedDeployment, school: str = "lincoln-high") -> list[Any]:
    path = messages_path(school)
    answer = httpx.get(
        relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
    )
    assert answer.status_code == 200, answer.text
    messages: list[Any] = answer.json()["messages"]
    return messages


def assert_json_error(answer: httpx.Response, status: int, words: str, case: str = "") -> None:
    assert answer.status_code == status, f"{case}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/json"), case
    assert words in answer.json()["error"], case


def test_a_student_and_the_school_talk_through_a_real_relay(
    relay: RelayProcess, td: KeyedDeployment
) -> None:
    case = new_case(td.deployment, "lincoln-high")
    assert httpx.post(relay.url + POST, json=case.body).status_code == 201
    added = httpx.post(
        relay.url + "/api/v1/case/messages", json=update(td.deployment, case), headers=case.headers
    )
    assert added.status_code == 201, added.text
    thread = httpx.get(relay.url + "/api/v1/case", headers=case.headers).json()
    assert [m["author"] for m in thread["messages"]] == ["public", "student"]
    assert [m["id"] for m in listed(relay, td)] == [m["id"] for m in thread["messages"]]


def refusals(td: KeyedDeployment) -> list[tuple[str, dict[str, str], int, str]]:
    dana = td.keys["dana-ortiz"].signing
    path = messages_path("lincoln-high")
    other = messages_path("cedar-valley-high")
    replayed = signed_headers(dana, path)
    wrong = dict(signed_headers(dana, path))
    wrong["x-qd-signature"] = signed_headers(SigningKey.generate(), path)["x-qd-signature"]
    return [
        ("unsigned", path, {}, 401, "missing header"),  # type: ignore[list-item]
        ("wrongly signed", path, wrong, 401, "bad signature"),  # type: ignore[list-item]
        (
            "signed by a stranger",
            path,
            signed_headers(SigningKey.generate(), path),
            403,
            "not a recipient",
        ),  # type: ignore[list-item]
        ("stale", path, signed_headers(dana, path, now=1_000_000), 401, "stale"),  # type: ignore[list-item]
        ("other school", other, signed_headers(dana, other), 403, "not a recipient"),  # type: ignore[list-item]
        ("signed for another path", other, signed_headers(dana, path), 401, "bad signature"),  # type: ignore[list-item]
        ("first use", path, replayed, 200, ""),  # type: ignore[list-item]
        ("replayed", path, replayed, 401, "replayed"),  # type: ignore[list-item]
    ]


def test_bad_staff_requests_are_refused(relay: RelayProcess, td: KeyedDeployment) -> None:
    for name, path, headers, status, words in refusals(td):  # type: ignore[misc]
        answer = httpx.get(relay.url + path, headers=headers)
        if status == 200:
            assert answer.status_code == 200, name
        else:
            assert_json_error(answer, status, words, name)


def bad_posts(td: KeyedDeployment) -> list[tuple[str, Any, dict[str, str], int, str]]:
    good = new_case(td.deployment, "lincoln-high").body
    envelope = good["envelope"]
    unknown = dict(good, envelope=dict(envelope, school="atlantis-high"))
    oversized = json.dumps(dict(good, envelope=dict(envelope, ct="A" * 200_000))).encode()
    bad_nonce = dict(good, envelope=dict(envelope, nonce="@@"))
    return [
        ("not json", b"{nope", {}, 400, "not acceptable JSON"),
        ("not a case", json.dumps({"hello": 1}).encode(), {}, 400, "malformed case"),
        ("bad field", json.dumps(bad_nonce).encode(), {}, 400, "'nonce'"),
        ("unknown school", json.dumps(unknown).encode(), {}, 404, "unknown school"),
        ("oversized", oversized, {}, 413, "larger than"),
        ("lying length", b"{}", {"content-length": "999999999"}, 413, "larger than"),
    ]


def test_bad_envelopes_get_json_4xx_and_write_nothing(
    relay: RelayProcess, td: KeyedDeployment
) -> None:
    for name, body, headers, status, words in bad_posts(td):
        if "content-length" in headers:
            # httpx sets its own length; send a lying header over a raw socket instead.
            answer = raw_post(relay.url, body, headers["content-length"])
        else:
            answer = httpx.post(
                relay.url + POST,
                content=body,
                headers={"content-type": "application/json", **headers},
            )
        assert_json_error(answer, status, words, name)
    assert listed(relay, td) == []
    if relay.db_path != Path():
        import sqlite3

        with sqlite3.connect(relay.db_path) as db:
            for table in ("cases", "messages", "daily_counts"):
                assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


def raw_post(url: str, body: bytes, length: str) -> httpx.Response:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as s:
        s.sendall(
            f"POST {POST} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return httpx.Response(
        status,
        content=payload,
        headers={"content-type": "application/json"} if b"application/json" in head else {},
    )


def test_acknowledged_envelope_survives_kill_9(
    td: KeyedDeployment, store_url: str, tmp_path: Path
) -> None:
    first = start_relay(td.path, store_url, tmp_path)
    try:
        ids = [
            httpx.post(first.url + POST, json=new_case(td.deployment, "lincoln-high").body).json()[
                "id"
            ]
            for _ in range(5)
        ]
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    second = start_relay(td.path, store_url, tmp_path)
    try:
        assert [m["id"] for m in listed(second, td)] == ids
    finally:
        stop_relay(second)


def client_from(address: str) -> httpx.Client:
    """A client whose connections come from another loopback address, like another device."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture
def friction(tmp_path: Path) -> KeyedDeployment:
    """Proof of work and per-address limits on, as in production, with a low normal volume."""
    return make_deployment(
        tmp_path,
        relay=lenient_limits(
            proof_of_work=True,
            proof_of_work_tries=5,
            normal_daily_per_school=3,
            daily_quota_per_school=40,
            address_burst=150,
            address_per_minute=60,
        ),
    )


def test_the_log_under_load_holds_no_address_user_agent_case_or_ciphertext(
    friction: KeyedDeployment, store_url: str, tmp_path: Path
) -> None:
    td = friction
    relay = start_relay(td.path, store_url, tmp_path)
    marker = {"user-agent": "Marker-UA/7.7"}
    cases = []
    try:
        lines_before = relay.log().count("\n")

        def student(n: int) -> None:
            with client_from("127.0.0.2") as client:
                for _ in range(6):
                    challenge = client.get(
                        relay.url + "/api/v1/challenge?school=lincoln-high", headers=marker
                    )
                    if challenge.status_code != 200:
                        continue
                    case = new_case(td.deployment, "lincoln-high", f"words {n}")
                    cases.append(case)
                    proof = {"x-qd-proof": solve_proof(challenge.json()), **marker}
                    client.post(relay.url + POST, json=case.body, headers=proof)
                    client.post(relay.url + POST, json=case.body, headers=marker)  # a retry
                    client.get(relay.url + "/api/v1/case", headers={**case.headers, **marker})
                    client.post(
                        relay.url + "/api/v1/case/messages",
                        json=update(td.deployment, case),
                        headers={**case.headers, **marker},
                    )
                    client.post(relay.url + POST, content=b"{nope", headers=marker)
                client.get(relay.url + "/api/v1/nothing", headers=marker)

        threads = [threading.Thread(target=student, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        listed(relay, td)  # a staff read too
        assert len(cases) > 20  # the load ran: many requests, many of them refused (429, 428)
    finally:
        stop_relay(relay)
    log = relay.log()
    assert "Uvicorn running" in log  # the log is captured at all
    # Operational events only: start, stop, difficulty and quota; never a line per request.
    assert log.count("\n") - lines_before < 20
    assert all(json.loads(line)["level"] for line in log.splitlines())  # one JSON object a line
    assert "Marker-UA" not in log
    assert "127.0.0.2" not in log
    assert "127.0.0.1:" not in log.replace(relay.url, "")  # no client address:port pairs
    assert "POST /api" not in log and "GET /api" not in log
    for case in cases:
        assert case.case_id not in log
        assert case.body["envelope"]["ct"][40:80] not in log


def gc_passes(relay: RelayProcess) -> dict[str, float]:
    """The relay's collector passes so far, by generation, from its /metrics."""
    text = httpx.get(relay.url + "/metrics").text
    found = re.findall(r'^python_gc_collections_total\{generation="(\d)"\} (\S+)$', text, re.M)
    assert len(found) == 3, text
    return {generation: float(count) for generation, count in found}


def test_a_busy_relay_leaves_its_requests_to_reference_counting(
    relay: RelayProcess, td: KeyedDeployment
) -> None:
    """With many posts in flight, the collector does not pass over them every few requests.

    At Python's default threshold this load made 16 to 27 young passes, and with the
    relay's own (relay.server.tune_collector, set at start-up) none or one.
    """
    cases = [new_case(td.deployment, "lincoln-high") for _ in range(480)]
    before = gc_passes(relay)
    statuses: list[int] = []

    def student(share: list[StudentCase]) -> None:
        with httpx.Client() as client:
            statuses.extend(client.post(relay.url + POST, json=c.body).status_code for c in share)

    threads = [threading.Thread(target=student, args=(cases[i::32],)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = gc_passes(relay)
    assert statuses == [201] * len(cases)
    assert after["0"] - before["0"] <= 2, (before, after)
    assert after["2"] == before["2"]


def _open(relay: RelayProcess) -> socket.socket:
    parts = urlsplit(relay.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the relay closes this connection (recv returns nothing or fails)."""
    started = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    return time.monotonic() - started


@pytest.fixture
def quick_deadlines(tmp_path: Path) -> KeyedDeployment:
    """A relay that wants headers within 2 s and bodies at 2,000 bytes a second or more."""
    return make_deployment(
        tmp_path, relay=lenient_limits(header_timeout_seconds=2, min_upload_bytes_per_second=2000)
    )


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_slow_clients_are_cut_off_and_a_slow_phone_gets_through(
    quick_deadlines: KeyedDeployment, tmp_path: Path, parser: str
) -> None:
    td = quick_deadlines
    relay = start_relay(td.path, f"sqlite:///{tmp_path / 'slow.db'}", tmp_path, http=parser)
    try:
        silent = _open(relay)  # connects and says nothing
        trickle = _open(relay)  # sends its headers a byte at a time, slowly
        trickle.sendall(b"POST /api/v1/cases HTTP/1.1\r\n")
        slow_body = _open(relay)  # headers, then a body far slower than the minimum rate
        slow_body.sendall(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4000\r\n\r\n{"
        )
        assert _closed_after(silent) < 5
        assert _closed_after(trickle) < 5
        # 2 s of grace plus 4,000 bytes at 2,000 bytes a second: closed within about 4 s.
        assert _closed_after(slow_body) < 7
        for sock in (silent, trickle, slow_body):
            sock.close()

        # A student's 64 KiB report over a 50 KB/s connection still lands.
        body = json.dumps(new_case(td.deployment, "lincoln-high", "x" * 60_000).body).encode()
        assert len(body) > 60_000
        phone = _open(relay)
        phone.sendall(
            b"POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for start in range(0, len(body), 5_000):
            phone.sendall(body[start : start + 5_000])
            time.sleep(0.1)  # paced like the connection, not waiting for anything
        answer = b""
        while chunk := phone.recv(65536):
            answer += chunk
        phone.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    finally:
        stop_relay(relay)
