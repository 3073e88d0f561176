"""For operators: GET /healthz and GET /metrics, and what they never say."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from relay.app import create_app
from relay.store import SQLStore
from relay.stores import open_store

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import new_case, update

CASES = "/api/v1/cases"


@pytest.fixture
def td(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path, base_url="http://127.0.0.1:8000")


@pytest.fixture
def client(td: KeyedDeployment, store: SQLStore) -> TestClient:
    return TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000")


def test_a_healthy_relay_says_so(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "status": "ok",
        "checks": {
            "store": "ok",
            "migrations": "ok",
            "notices": "ok (0 waiting)",
            "alerts": "ok (0 waiting)",
            "retention": "ok",
            "acknowledgments": "ok",
            "budget": "ok",
        },
    }


@pytest.mark.parametrize(("share", "warned"), [(0.89, False), (0.9, True), (1.0, True)])
def test_a_school_near_its_storage_budget_is_a_warning(
    td: KeyedDeployment, client: TestClient, store: SQLStore, share: float, warned: bool
) -> None:
    """Before a flood closes a school's door, and while it is closed, the operator is told."""
    stored = int(td.deployment.relay.school_budget_bytes * share)
    store.call(
        "",
        lambda tx: tx.run(
            "INSERT INTO school_bytes (school, bytes) VALUES ('lincoln-high', ?) "
            "ON CONFLICT (school) DO UPDATE SET bytes = ?",
            (stored, stored),
        ),
    )
    answer = client.get("/healthz").json()
    assert answer["status"] == ("warning" if warned else "ok")
    budget = answer["checks"]["budget"]
    if warned:
        assert budget.startswith("warning: at 90% of the storage budget or more: lincoln-high ")
        assert f"({int(share * 100)}%)" in budget and "school_budget_bytes" in budget
    else:
        assert budget == "ok"


def test_a_database_migrated_by_a_newer_relay_takes_this_one_out_of_service(
    client: TestClient, store: SQLStore
) -> None:
    store.call("", lambda tx: tx.run("INSERT INTO schema_version (version) VALUES (99)"))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "failing"
    assert "upgrade it" in answer.json()["checks"]["migrations"]


def test_notices_that_wait_too_long_are_a_warning(client: TestClient, store: SQLStore) -> None:
    due = int(time.time()) - 2 * 3600
    store.call(
        "",
        lambda tx: tx.run(
            "INSERT INTO notices (recipient, channel, school, due, next_try) "
            "VALUES ('dana-ortiz', 'email', 'lincoln-high', ?, ?)",
            (due, due + 10**6),
        ),
    )
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "warning"
    assert answer.json()["checks"]["notices"].startswith("warning: 1 notices waiting")
    assert "lincoln-high" not in answer.text and "dana" not in answer.text


def test_an_unreachable_store_fails_the_check(td: KeyedDeployment, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gone.db'}")
    client = TestClient(create_app(td.deployment, store), base_url="http://127.0.0.1:8000")
    store.close()
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["status"] == "failing"
    assert answer.json()["checks"]["store"].startswith("failing: cannot read the database")


def test_metrics_count_requests_writes_and_batches_without_naming_anyone(
    client: TestClient, td: KeyedDeployment
) -> None:
    case = new_case(td.deployment, "lincoln-high")
    assert client.post(CASES, json=case.body).status_code == 201
    assert client.post(CASES, json=case.body).status_code == 200
    added = client.post(
        "/api/v1/case/messages", json=update(td.deployment, case), headers=case.headers
    )
    assert added.status_code == 201
    assert (
        client.get(
            "/api/v1/case", headers=new_case(td.deployment, "lincoln-high").headers
        ).status_code
        == 404
    )
    client.post(CASES, content=b"{nope", headers={"content-type": "application/json"})
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for line in [
        'quietdoor_relay_requests_total{endpoint="/api/v1/cases",status="201"} 1.0',
        'quietdoor_relay_requests_total{endpoint="/api/v1/cases",status="200"} 1.0',
        'quietdoor_relay_requests_total{endpoint="/api/v1/cases",status="400"} 1.0',
        'quietdoor_relay_requests_total{endpoint="/api/v1/case/messages",status="201"} 1.0',
        'quietdoor_relay_requests_total{endpoint="/api/v1/case",status="404"} 1.0',
        "quietdoor_relay_write_seconds_count 3.0",
        "quietdoor_relay_pending_notices 0.0",
        "quietdoor_relay_proof_of_work_max_tries 1000.0",
        "quietdoor_relay_busy_schools 0.0",
    ]:
        assert line in text, line
    assert "quietdoor_relay_commit_batch_size_count" in text
    # Aggregates only: no school, case, address or envelope anywhere in the answer.
    for secret in ["lincoln-high", case.case_id, "testclient", case.body["envelope"]["nonce"]]:
        assert secret not in text
