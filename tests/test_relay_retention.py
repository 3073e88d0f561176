"""Retention: what every recipient fetched goes for good after the period; nothing else."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from relay.app import create_app
from relay.retention import sweep
from relay.store import SQLStore
from relay.stores import open_store

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import StudentCase, new_case, update
from .support.keytool import Leads, listed_cases, run_keytool
from .support.relay_api import messages_path, signed_headers
from .support.stores import run_on_own_loop

CASE = "/api/v1/case"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url="http://127.0.0.1:8000")


@pytest.fixture
def client(td: KeyedDeployment, store: SQLStore) -> TestClient:
    return TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000")


def fetch_all(
    client: TestClient, td: KeyedDeployment, who: str, school: str = "lincoln-high"
) -> int:
    """What a key tool does: read pages from its cursor, then ask once more from the last."""
    cursor = 0
    while True:
        path = messages_path(school, after=cursor)
        answer = client.get(path, headers=signed_headers(td.keys[who].signing, path))
        assert answer.status_code == 200, answer.text
        rows = answer.json()["messages"]
        if not rows:
            return cursor
        cursor = rows[-1]["cursor"]


def days_later(n: int) -> date:
    return TODAY + timedelta(days=n)


def swept(store: SQLStore, on: date) -> int:
    return run_on_own_loop(sweep(store, 90, on, int(time.time())))


def health(client: TestClient) -> dict[str, Any]:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_a_case_goes_after_every_recipient_fetched_it_and_the_period_passed(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    case = new_case(td.deployment, "lincoln-high", "retention marker")
    assert client.post("/api/v1/cases", json=case.body).status_code == 201
    assert (
        client.post(
            "/api/v1/case/messages", json=update(td.deployment, case), headers=case.headers
        ).status_code
        == 201
    )
    fetch_all(client, td, "dana-ortiz")
    assert swept(store, days_later(91)) == 0  # Marcus, who reads Lincoln High too, has not fetched
    assert client.get(CASE, headers=case.headers).status_code == 200
    fetch_all(client, td, "marcus-lee")
    assert swept(store, days_later(89)) == 0  # not yet 90 days
    assert client.get(CASE, headers=case.headers).status_code == 200
    assert swept(store, days_later(90)) == 1
    gone = client.get(CASE, headers=case.headers)
    wrong = client.get(CASE, headers=new_case(td.deployment, "lincoln-high").headers)
    assert (
        (gone.status_code, gone.json())
        == (wrong.status_code, wrong.json())
        == (
            404,
            {"error": "no conversation matches this code"},
        )
    )
    # The school's cursor goes on from where it was: a key tool never misses what comes next.
    assert (
        client.post("/api/v1/cases", json=new_case(td.deployment, "lincoln-high").body).status_code
        == 201
    )
    path = messages_path("lincoln-high", after=2)
    rows = client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)).json()
    assert [m["cursor"] for m in rows["messages"]] == [3]


def test_new_activity_keeps_a_case_until_it_too_is_fetched(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    case = new_case(td.deployment, "lincoln-high")
    assert client.post("/api/v1/cases", json=case.body).status_code == 201
    for who in ("dana-ortiz", "marcus-lee"):
        fetch_all(client, td, who)
    assert (
        client.post(
            "/api/v1/case/messages", json=update(td.deployment, case), headers=case.headers
        ).status_code
        == 201
    )
    assert swept(store, days_later(400)) == 0  # the update is not fetched by anyone yet
    assert health(client)["checks"]["retention"] == "ok"  # it arrived today, not 90 days ago


def test_what_nobody_fetched_is_kept_and_the_health_check_warns(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    case = new_case(td.deployment, "riverside-middle")
    assert client.post("/api/v1/cases", json=case.body).status_code == 201
    store.call("", lambda tx: tx.run("UPDATE messages SET received = '2020-01-01'"))
    store.call("", lambda tx: tx.run("UPDATE cases SET last_day = '2020-01-01'"))
    assert swept(store, TODAY) == 0
    assert client.get(CASE, headers=case.headers).status_code == 200
    report = health(client)
    assert report["status"] == "warning"
    assert report["checks"]["retention"].startswith("warning: 1 messages older than 90 days")


def test_deleted_ciphertext_is_gone_from_the_sqlite_files(
    td: KeyedDeployment, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    client = TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000")
    case = new_case(td.deployment, "cedar-valley-high")  # read by Ruth Nakamura only
    assert client.post("/api/v1/cases", json=case.body).status_code == 201
    marker = case.body["envelope"]["ct"][40:80].encode()  # 40 characters of its ciphertext
    store.purge()
    assert marker in b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    fetch_all(client, td, "ruth-nakamura", "cedar-valley-high")
    assert swept(store, days_later(90)) == 1
    store.close()
    assert marker not in b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))


def test_the_key_tool_keeps_its_copy_after_the_relay_deleted_it(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    case: StudentCase = leads.post("kept by the key tool")
    leads.fetch(capsys)
    leads.fetch(capsys, leads.colleague)
    store = open_store(f"sqlite:///{leads.relay.db_path}")
    try:
        assert swept(store, days_later(90)) == 1
    finally:
        store.close()
    assert httpx.get(leads.relay.url + CASE, headers=case.headers).status_code == 404
    cases = listed_cases(capsys, leads.home)
    assert [c["case_id"] for c in cases] == [case.case_id]
    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", cases[0]["id"])
    assert code == 0 and "kept by the key tool" in out
