"""Retention: what every current recipient holds goes for good after the period; nothing else."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from relay.app import create_app
from relay.directory import Directory
from relay.retention import sweep
from relay.store import SQLStore
from relay.stores import open_store

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import StudentCase, new_case, update
from .support.keytool import Leads, listed_cases, run_keytool
from .support.relay_api import acks_path, as_body, messages_path, signed_headers
from .support.retention import swept
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
    """What a key tool does: read pages from its cursor, saying `held` after each."""
    cursor = 0
    while True:
        path = messages_path(school, after=cursor)
        answer = client.get(path, headers=signed_headers(td.keys[who].signing, path))
        assert answer.status_code == 200, answer.text
        rows = answer.json()["messages"]
        if not rows:
            return cursor
        cursor = rows[-1]["cursor"]
        assert acknowledge(client, td, who, school, held=cursor) == {"held": cursor, "seen": 0}


def only_ask(client: TestClient, td: KeyedDeployment, who: str, after: int) -> None:
    """What a version-1 key tool did: ask after a cursor, acknowledging nothing."""
    path = messages_path("lincoln-high", after=after)
    answer = client.get(path, headers=signed_headers(td.keys[who].signing, path))
    assert answer.status_code == 200, answer.text


def acknowledge(
    client: TestClient, td: KeyedDeployment, who: str, school: str = "lincoln-high", **ack: Any
) -> dict[str, Any]:
    answer = post_ack(client, td, who, school, ack)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def post_ack(
    client: TestClient, td: KeyedDeployment, who: str, school: str, document: Any
) -> httpx.Response:
    path, body = acks_path(school), as_body(document)
    headers = signed_headers(td.keys[who].signing, path, "POST", body)
    return client.post(path, content=body, headers=headers)


def days_later(n: int) -> date:
    return TODAY + timedelta(days=n)


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
    assert (
        swept(store, days_later(91), td.deployment) == 0
    )  # Marcus, who reads Lincoln High too, has not fetched
    assert client.get(CASE, headers=case.headers).status_code == 200
    fetch_all(client, td, "marcus-lee")
    assert swept(store, days_later(89), td.deployment) == 0  # not yet 90 days
    assert client.get(CASE, headers=case.headers).status_code == 200
    assert swept(store, days_later(90), td.deployment) == 1
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
    assert (
        swept(store, days_later(400), td.deployment) == 0
    )  # the update is not fetched by anyone yet
    assert health(client)["checks"]["retention"] == "ok"  # it arrived today, not 90 days ago


def test_what_nobody_fetched_is_kept_and_the_health_check_warns(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    case = new_case(td.deployment, "riverside-middle")
    assert client.post("/api/v1/cases", json=case.body).status_code == 201
    store.call("", lambda tx: tx.run("UPDATE messages SET received = '2020-01-01'"))
    store.call("", lambda tx: tx.run("UPDATE cases SET last_day = '2020-01-01'"))
    assert swept(store, TODAY, td.deployment) == 0
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
    assert swept(store, days_later(90), td.deployment) == 1
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
        assert swept(store, days_later(90), leads.deployment) == 1
    finally:
        store.close()
    assert httpx.get(leads.relay.url + CASE, headers=case.headers).status_code == 404
    cases = listed_cases(capsys, leads.home)
    assert [c["case_id"] for c in cases] == [case.case_id]
    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", cases[0]["id"])
    assert code == 0 and "kept by the key tool" in out


def test_asking_after_a_cursor_no_longer_counts_as_holding(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    assert client.post("/api/v1/cases", json=new_case(td.deployment, "lincoln-high").body)
    for who in ("dana-ortiz", "marcus-lee"):
        only_ask(client, td, who, after=1)
    assert swept(store, days_later(400), td.deployment) == 0


def test_held_is_capped_at_what_the_relay_served_and_only_goes_up(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    for _ in range(2):
        case = new_case(td.deployment, "lincoln-high")
        assert client.post("/api/v1/cases", json=case.body).status_code == 201
    assert acknowledge(client, td, "dana-ortiz", held=2**53) == {"held": 0, "seen": 0}
    path = messages_path("lincoln-high", after=0, limit=1)
    client.get(path, headers=signed_headers(td.keys["dana-ortiz"].signing, path))
    assert acknowledge(client, td, "dana-ortiz", held=2**53) == {"held": 1, "seen": 0}
    assert acknowledge(client, td, "dana-ortiz", held=0, seen=5) == {"held": 1, "seen": 1}
    fetch_all(client, td, "marcus-lee")
    assert swept(store, days_later(90), td.deployment) == 1  # the first case; Dana holds no more
    assert client.get(CASE, headers=case.headers).status_code == 200


def test_seen_alone_holds_nothing(client: TestClient, td: KeyedDeployment, store: SQLStore) -> None:
    assert client.post("/api/v1/cases", json=new_case(td.deployment, "lincoln-high").body)
    for who in ("dana-ortiz", "marcus-lee"):
        only_ask(client, td, who, after=0)
        assert acknowledge(client, td, who, seen=1) == {"held": 0, "seen": 1}
    assert swept(store, days_later(400), td.deployment) == 0


def test_a_recipient_added_since_keeps_what_they_do_not_hold(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    assert client.post("/api/v1/cases", json=new_case(td.deployment, "lincoln-high").body)
    for who in ("dana-ortiz", "marcus-lee"):
        fetch_all(client, td, who)
    readers = dict(Directory(td.deployment).every_school_readers())
    readers["lincoln-high"] = (*readers["lincoln-high"], "new-counselor")
    now = int(time.time())
    assert run_on_own_loop(sweep(store, 90, days_later(90), now, readers)) == 0
    # Without them again: the others have held it since this sweep, so 90 days from it.
    assert swept(store, days_later(100), td.deployment) == 0
    assert swept(store, days_later(190), td.deployment) == 1


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        {"held": -1},
        {"held": 1.0},
        {"held": True},
        {"held": "1"},
        {"seen": 2**53 + 1},
        {"held": 1, "read": 1},
    ],
)
def test_a_malformed_acknowledgment_is_refused(
    client: TestClient, td: KeyedDeployment, document: Any
) -> None:
    answer = post_ack(client, td, "dana-ortiz", "lincoln-high", document)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(("an acknowledgment", "'held'", "'seen'", "the body"))


def test_only_a_recipient_of_the_school_acknowledges(
    client: TestClient, td: KeyedDeployment
) -> None:
    answer = post_ack(client, td, "ruth-nakamura", "lincoln-high", {"held": 1})
    assert answer.status_code == 403
    assert client.post(acks_path("lincoln-high"), json={"held": 1}).status_code == 401


def test_the_health_check_names_a_recipient_silent_for_30_days(
    client: TestClient, td: KeyedDeployment, store: SQLStore
) -> None:
    assert client.post("/api/v1/cases", json=new_case(td.deployment, "lincoln-high").body)
    assert health(client)["checks"]["acknowledgments"] == "ok"  # nothing older than 30 days
    store.call("", lambda tx: tx.run("UPDATE messages SET received = '2020-01-01'"))
    check = health(client)["checks"]["acknowledgments"]
    assert check.startswith("warning: no 'held' acknowledgment for 30 days from dana-ortiz")
    assert "marcus-lee (lincoln-high)" in check
    fetch_all(client, td, "dana-ortiz")
    fetch_all(client, td, "marcus-lee")
    assert health(client)["checks"]["acknowledgments"] == "ok"
    store.call("", lambda tx: tx.run("UPDATE fetched SET held_day = '2020-01-01'"))
    assert "dana-ortiz (lincoln-high)" in health(client)["checks"]["acknowledgments"]
