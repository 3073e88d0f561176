"""A real relay (uvicorn in its own process, on a free loopback port) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from nacl.signing import SigningKey

from .helpers import (
    KeyedDeployment,
    RelayProcess,
    inbox_path,
    make_deployment,
    report,
    signed_headers,
    start_relay,
    stop_relay,
)

POST = "/api/v1/envelopes"


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


def count(relay: RelayProcess, td: KeyedDeployment, school: str = "lincoln-high") -> int:
    path = inbox_path(school)
    answer = httpx.get(
        relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
    )
    assert answer.status_code == 200, answer.text
    return len(answer.json()["envelopes"])


def assert_json_error(answer: httpx.Response, status: int, words: str, case: str = "") -> None:
    assert answer.status_code == status, f"{case}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/json"), case
    assert words in answer.json()["error"], case


def test_signed_staff_request_gets_the_inbox(relay: RelayProcess, td: KeyedDeployment) -> None:
    assert (
        httpx.post(relay.url + POST, json=report(td.deployment, "lincoln-high")).status_code == 201
    )
    assert count(relay, td) == 1


def refusals(td: KeyedDeployment) -> list[tuple[str, dict[str, str], int, str]]:
    dana = td.keys["dana-ortiz"].signing
    path = inbox_path("lincoln-high")
    other = inbox_path("cedar-valley-high")
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
    good = report(td.deployment, "lincoln-high")
    unknown = dict(good, school="atlantis-high")
    oversized = json.dumps(dict(good, ct="A" * 200_000)).encode()
    return [
        ("not json", b"{nope", {}, 400, "JSON envelope"),
        ("not an envelope", json.dumps({"hello": 1}).encode(), {}, 400, "malformed envelope"),
        ("bad field", json.dumps(dict(good, nonce="@@")).encode(), {}, 400, "'nonce'"),
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
    assert count(relay, td) == 0
    if relay.db_path != Path():
        import sqlite3

        with sqlite3.connect(relay.db_path) as db:
            assert db.execute("SELECT COUNT(*) FROM envelopes").fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM daily_counts").fetchone() == (0,)


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
            httpx.post(first.url + POST, json=report(td.deployment, "lincoln-high")).json()["id"]
            for _ in range(5)
        ]
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    second = start_relay(td.path, store_url, tmp_path)
    try:
        path = inbox_path("lincoln-high")
        answer = httpx.get(
            second.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
        )
        assert [e["id"] for e in answer.json()["envelopes"]] == ids
    finally:
        stop_relay(second)


def test_log_holds_no_address_or_user_agent(relay: RelayProcess, td: KeyedDeployment) -> None:
    httpx.post(
        relay.url + POST,
        json=report(td.deployment, "lincoln-high"),
        headers={"user-agent": "Marker-UA/7.7"},
    )
    httpx.post(relay.url + POST, content=b"{nope", headers={"user-agent": "Marker-UA/7.7"})
    httpx.get(relay.url + "/api/v1/nothing")
    stop_relay(relay)
    log = relay.log()
    assert "Uvicorn running" in log  # the log is captured at all
    assert "Marker-UA" not in log
    assert "127.0.0.1:" not in log.replace(relay.url, "")  # no client address:port pairs
    assert "POST /api" not in log and "GET /api" not in log
