"""The relay in-process (Starlette's TestClient), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from starlette.testclient import TestClient

from quietdoor.config import RelayLimits
from relay.app import create_app
from relay.store import Store, open_store

from .helpers import KeyedDeployment, inbox_path, make_deployment, report, signed_headers


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def client_for(td: KeyedDeployment, store: Store, static: Path | None = None) -> TestClient:
    return TestClient(create_app(td.deployment, store, static), base_url="http://127.0.0.1:8000")


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url="http://127.0.0.1:8000")


def fetch(client: TestClient, td: KeyedDeployment, school: str, who: str, **kw: int) -> dict:  # type: ignore[type-arg]
    path = inbox_path(school, **kw)
    answer = client.get(path, headers=signed_headers(td.keys[who].signing, path))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_envelope_round_trip_and_cursor(td: KeyedDeployment, store: Store) -> None:
    client = client_for(td, store)
    posted = [
        client.post("/api/v1/envelopes", json=report(td.deployment, "lincoln-high"))
        for _ in range(3)
    ]
    assert [p.status_code for p in posted] == [201, 201, 201]
    assert set(posted[0].json()) == {"id", "received"}
    client.post("/api/v1/envelopes", json=report(td.deployment, "riverside-middle"))

    page = fetch(client, td, "lincoln-high", "dana-ortiz", limit=2)
    assert [e["id"] for e in page["envelopes"]] == [p.json()["id"] for p in posted[:2]]
    assert page["more"] is True
    rest = fetch(client, td, "lincoln-high", "dana-ortiz", after=page["envelopes"][-1]["seq"])
    assert [e["id"] for e in rest["envelopes"]] == [posted[2].json()["id"]]
    assert rest["more"] is False
    # The district lead reads both district schools; each school's inbox holds only its own.
    assert len(fetch(client, td, "riverside-middle", "marcus-lee")["envelopes"]) == 1


def test_a_retried_post_is_stored_once(td: KeyedDeployment, store: Store) -> None:
    client = client_for(td, store)
    envelope = report(td.deployment, "lincoln-high")
    first = client.post("/api/v1/envelopes", json=envelope)
    again = client.post("/api/v1/envelopes", json=envelope)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(fetch(client, td, "lincoln-high", "dana-ortiz")["envelopes"]) == 1


def test_daily_quota_refuses_with_429_and_stores_nothing_more(tmp_path: Path, store: Store) -> None:
    td = make_deployment(
        tmp_path, base_url="http://127.0.0.1:8000", relay=RelayLimits(daily_quota_per_school=2)
    )
    client = client_for(td, store)
    codes = [
        client.post("/api/v1/envelopes", json=report(td.deployment, "lincoln-high")).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    assert len(fetch(client, td, "lincoln-high", "dana-ortiz")["envelopes"]) == 2
    # Another school has its own quota.
    other = client.post("/api/v1/envelopes", json=report(td.deployment, "riverside-middle"))
    assert other.status_code == 201


def test_envelope_for_old_recipients_is_refused(
    td: KeyedDeployment, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    stale = make_deployment(tmp_path / "old")  # same schools, other keys
    client = client_for(td, store)
    answer = client.post("/api/v1/envelopes", json=report(stale.deployment, "lincoln-high"))
    assert answer.status_code == 422
    assert "reload the page" in answer.json()["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=-1", "'after'"),
        ("after=x", "'after'"),
        ("after=0&limit=0", "'limit'"),
        ("after=0&limit=201", "'limit'"),
    ],
)
def test_bad_inbox_parameters(td: KeyedDeployment, store: Store, query: str, message: str) -> None:
    client = client_for(td, store)
    path = f"/api/v1/schools/lincoln-high/envelopes?{query}"
    answer = client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path))
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_openapi_describes_every_api_route(td: KeyedDeployment, store: Store) -> None:
    client = client_for(td, store)
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    app_paths = {
        r.path.replace("{slug}", "{slug}")
        for r in client.app.routes  # type: ignore[attr-defined]
        if r.path.startswith("/api/v1/")
    }
    assert app_paths == set(doc["paths"])


def test_unknown_api_path_is_json_404(td: KeyedDeployment, store: Store) -> None:
    answer = client_for(td, store).get("/api/v2/anything")
    assert answer.status_code == 404
    assert "error" in answer.json()


def test_cors_allows_only_the_site_origin(tmp_path: Path, store: Store) -> None:
    td = make_deployment(tmp_path)  # site and relay on different https origins
    client = TestClient(
        create_app(td.deployment, store), base_url="https://relay.riverside.example"
    )
    ok = client.options(
        "/api/v1/envelopes",
        headers={
            "origin": "https://report.riverside.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert ok.headers["access-control-allow-origin"] == "https://report.riverside.example"
    bad = client.options(
        "/api/v1/envelopes",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in bad.headers


def test_student_pages_get_a_strict_csp(td: KeyedDeployment, store: Store, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "s" / "lincoln-high").mkdir(parents=True)
    (site / "s" / "lincoln-high" / "index.html").write_text("<p>hi</p>")
    answer = client_for(td, store, site).get("/s/lincoln-high/")
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in answer.headers


def test_stored_rows_hold_nothing_about_the_sender(td: KeyedDeployment, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    client = client_for(td, store)
    headers = {"user-agent": "Marker-UA/1.0", "x-forwarded-for": "203.0.113.77"}
    client.post("/api/v1/envelopes", json=report(td.deployment, "lincoln-high"), headers=headers)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    assert b"Marker-UA" not in raw and b"203.0.113.77" not in raw and b"testclient" not in raw
    received = fetch(
        client_for(td, open_store(f"sqlite:///{tmp_path / 'r.db'}")),
        td,
        "lincoln-high",
        "dana-ortiz",
    )["envelopes"][0]["received"]
    assert len(received) == 10  # the day only: YYYY-MM-DD


def test_a_key_learns_which_schools_it_reads(td: KeyedDeployment, store: Store) -> None:
    client = client_for(td, store)
    answer = client.get(
        "/api/v1/schools", headers=signed_headers(td.keys["marcus-lee"].signing, "/api/v1/schools")
    )
    assert answer.json() == {"schools": ["lincoln-high", "riverside-middle"]}
    stranger = client.get(
        "/api/v1/schools", headers=signed_headers(SigningKey.generate(), "/api/v1/schools")
    )
    assert stranger.status_code == 403
    assert client.get("/api/v1/schools").status_code == 401


def test_wrong_method_is_json_405(td: KeyedDeployment, store: Store) -> None:
    answer = client_for(td, store).get("/api/v1/envelopes")
    assert answer.status_code == 405
    assert answer.json() == {"error": "Method Not Allowed"}
