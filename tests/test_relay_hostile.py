"""A sweep of hostile requests over every endpoint: never a 500, always JSON, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from relay.app import create_app
from relay.store import SQLStore
from relay.throttle import FailedCodes

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import new_case, update
from .support.relay_api import as_body, messages_path, reply_path, signed_headers

ODD = [
    b"\xc2\xb2",  # "²": str.isdigit() says yes, int() says no
    b"\xd9\xa3",  # "٣", an Arabic-Indic digit
    b"",
    b"-1",
    b"1e5",
    b"99999999999999999999999999",
    b"x" * 5000,
    b"\xff\xfe",
    b"Bearer \xc2\xb2",
]
BODIES: list[tuple[str, bytes]] = [
    ("deep", b"[" * 5000 + b"]" * 5000),
    ("deep object", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("huge number", b'{"case_id":' + b"9" * 5000 + b"}"),
    ("huge float", b'{"v":1e999}'),
    ("NaN", b'{"v":NaN}'),
    ("lone surrogate", b'{"school":"\\ud800"}'),
    ("duplicate keys", b'{"v":1,"v":1}'),
    ("not UTF-8", b'{"v":"\xff"}'),
    ("array", b"[1,2]"),
    ("string", b'"x"'),
    ("null", b"null"),
    ("empty", b""),
    ("truncated", b'{"case_id":"AAAA'),
]


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url="http://127.0.0.1:8000")


def field_changes(good: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The good body with one field made wrong at a time, in every JSON type."""
    out = []
    envelope = good["envelope"]
    for name in [*good, *(f"envelope.{k}" for k in envelope)]:
        for value in [None, True, 7, -1, 2**70, 1.5, "", "²", [], {}, "A" * 70_000]:
            doc = {**good, "envelope": dict(envelope)}
            if name.startswith("envelope."):
                doc["envelope"][name.removeprefix("envelope.")] = value
            else:
                doc[name] = value
            out.append((f"{name}={str(value)[:8]}", as_body(doc)))
    return out


def sweep(td: KeyedDeployment) -> Iterator[tuple[str, str, str, dict[str, Any], bytes]]:
    """(name, method, path, headers, body) for every hostile request."""
    d = td.deployment
    good = new_case(d, "lincoln-high")  # opened by the test before the sweep
    json_type = {"content-type": "application/json"}
    yield "open the case", "POST", "/api/v1/cases", json_type, as_body(good.body)
    for name, body in BODIES + field_changes(good.body):
        yield f"open case: {name}", "POST", "/api/v1/cases", json_type, body
        yield f"add: {name}", "POST", "/api/v1/case/messages", {**json_type, **good.headers}, body
    for value in ODD:
        for header in ["x-qd-case", "authorization"]:
            headers = {**good.headers, header: value}
            yield f"read {header}={value[:6]!r}", "GET", "/api/v1/case", headers, b""
            body = as_body(update(d, good))
            yield (
                f"add {header}={value[:6]!r}",
                "POST",
                "/api/v1/case/messages",
                {**json_type, **headers},
                body,
            )
    dana = td.keys["dana-ortiz"].signing
    for query in [
        "after=%C2%B2",
        "limit=%C2%B9",
        "after=1e5",
        "after=" + "9" * 30,
        "after=&limit=",
    ]:
        path = f"/api/v1/schools/lincoln-high/messages?{query}"
        yield f"list {query}", "GET", path, signed_headers(dana, path), b""
    path = messages_path("lincoln-high")
    for header in ["x-qd-key", "x-qd-timestamp", "x-qd-nonce", "x-qd-signature"]:
        for value in ODD:
            headers = {**signed_headers(dana, path), header: value}
            yield f"signed {header}={value[:6]!r}", "GET", path, headers, b""
    for odd_path in [
        "/api/v1/schools/%C2%B2/messages",
        "/api/v1/schools/" + "a" * 5000 + "/messages",
        "/api/v1/schools/lincoln-high/cases/%C2%B2/messages",
        "/api/v1/schools/lincoln-high/cases/" + "A" * 5000 + "/messages",
    ]:
        yield (
            f"path {odd_path[:40]}",
            "GET" if "cases" not in odd_path else "POST",
            odd_path,
            signed_headers(dana, odd_path),
            b"",
        )
    reply = reply_path(good)
    for name, body in BODIES + [("a whole new case", as_body(good.body))]:
        headers = signed_headers(dana, reply, "POST", body)
        yield f"reply: {name}", "POST", reply, {**headers, **json_type}, body
        notes = "/api/v1/schools/lincoln-high/notes"
        headers = signed_headers(dana, notes, "POST", body)
        yield f"note: {name}", "POST", notes, {**headers, **json_type}, body


def stored(client: TestClient, td: KeyedDeployment) -> list[str]:
    path = messages_path("lincoln-high")
    answer = client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path))
    return [m["id"] for m in answer.json()["messages"]]


def test_no_hostile_request_gets_a_500_or_changes_the_store(
    td: KeyedDeployment, store: SQLStore
) -> None:
    # Wrong codes are answered at once here (no free failures used up): the sweep sends many.
    client = TestClient(
        create_app(td.deployment, store, failed_codes=FailedCodes(free_failures=10_000)),
        base_url="http://127.0.0.1:8000",
        raise_server_exceptions=False,
    )
    requests = list(sweep(td))
    first = requests.pop(0)
    assert first[0] == "open the case"
    assert client.request(*first[1:3], headers=first[3], content=first[4]).status_code == 201
    before = stored(client, td)
    count = 0
    problems = []
    for name, method, path, headers, body in requests:
        answer = client.request(method, path, headers=headers, content=body)
        count += 1
        ok = 400 <= answer.status_code < 500 and answer.headers.get("content-type", "").startswith(
            "application/json"
        )
        if not ok or "error" not in answer.json():
            problems.append(f"{name}: {answer.status_code} {answer.text[:120]}")
    assert problems == []
    assert count > 300
    assert stored(client, td) == before
