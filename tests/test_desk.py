"""The desk in-process (Starlette's TestClient): who is let in, what every answer carries,
and what its pages make of hostile text. The browser tests are in test_desk_browser.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keytool.cases import case_ref
from keytool.desk.app import create_desk
from keytool.desk.guard import COOKIE, POLICY
from keytool.desk.runtime import DeskRuntime

from .support.keytool import PASS, Leads
from .support.paths import ROOT
from .support.processes import free_port, wait_until

PORT = 47123
BASE = f"http://127.0.0.1:{PORT}"
ORIGIN = {"origin": BASE}


@pytest.fixture
def runtime(home: Path) -> DeskRuntime:
    return DeskRuntime(home, config=None, relay=None)


@pytest.fixture
def client(runtime: DeskRuntime) -> Iterator[TestClient]:
    with TestClient(create_desk(runtime, PORT), base_url=BASE, follow_redirects=False) as c:
        yield c


def let_in(client: TestClient, runtime: DeskRuntime) -> None:
    assert runtime.link_secret is not None
    answer = client.get(f"/open?key={runtime.link_secret}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert client.cookies.get(COOKIE) == runtime.cookie_secret


def test_without_the_link_nothing_is_served(client: TestClient, runtime: DeskRuntime) -> None:
    for path in ("/", "/status", "/static/desk.css", "/case/0123456789", "/favicon.ico"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Open the link printed in the terminal" in answer.text
    assert client.post("/unlock", data={"passphrase": PASS}, headers=ORIGIN).status_code == 403
    assert runtime.session is None
    client.cookies.set(COOKIE, "a guess")
    assert client.get("/").status_code == 403


def test_the_link_works_once(client: TestClient, runtime: DeskRuntime) -> None:
    secret = runtime.link_secret
    assert client.get("/open?key=not-the-secret").status_code == 403
    let_in(client, runtime)
    assert client.get("/").status_code == 200
    other = TestClient(client.app, base_url=BASE, follow_redirects=False)
    answer = other.get(f"/open?key={secret}")
    assert answer.status_code == 403 and "used already" in answer.text
    assert "set-cookie" not in answer.headers
    # The browser that was let in may follow the link again (a prefetch spent it first).
    assert client.get(f"/open?key={secret}").status_code == 303


@pytest.mark.parametrize(
    "host",
    ["evil.example", f"evil.example:{PORT}", "127.0.0.1", f"localhost:{PORT}", "127.0.0.1:1"],
)
def test_another_host_name_is_refused(client: TestClient, runtime: DeskRuntime, host: str) -> None:
    let_in(client, runtime)
    answer = client.get("/", headers={"host": host})
    assert answer.status_code == 403 and "not the desk's" in answer.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "null"},
        {"origin": "http://127.0.0.1:8000"},
        {"origin": "http://evil.example"},
        {"origin": BASE, "sec-fetch-site": "cross-site"},
        {"origin": BASE, "sec-fetch-site": "same-site"},
    ],
)
def test_a_change_from_anywhere_else_is_refused(
    client: TestClient, runtime: DeskRuntime, headers: dict[str, str]
) -> None:
    let_in(client, runtime)
    answer = client.post("/unlock", data={"passphrase": PASS}, headers=headers)
    assert answer.status_code == 403 and "did not come from the desk" in answer.text
    assert runtime.session is None


def test_unlock_with_the_right_passphrase_only_and_lock_forgets(
    client: TestClient, runtime: DeskRuntime
) -> None:
    let_in(client, runtime)
    page = client.get("/")
    assert 'type="password"' in page.text and "Unlock your keys" in page.text
    wrong = client.post("/unlock", data={"passphrase": "not the passphrase"}, headers=ORIGIN)
    assert wrong.status_code == 401 and "does not open these keys" in wrong.text
    assert "not the passphrase" not in wrong.text and runtime.session is None
    right = client.post(
        "/unlock", data={"passphrase": PASS}, headers={**ORIGIN, "sec-fetch-site": "same-origin"}
    )
    assert right.status_code == 303 and runtime.session is not None
    assert "Unlocked for Dana Ortiz" in client.get("/").text
    assert client.post("/lock", headers=ORIGIN).status_code == 303
    assert runtime.session is None
    assert "keys are no longer in memory" in client.get("/?done=locked").text


def test_every_answer_carries_the_policy(client: TestClient, runtime: DeskRuntime) -> None:
    answers = [client.get("/"), client.get("/", headers={"host": "evil.example"})]
    let_in(client, runtime)
    answers += [client.get(p) for p in ("/", "/static/desk.css", "/static/desk.js", "/status")]
    answers.append(client.post("/lock", headers={"origin": "http://evil.example"}))
    for answer in answers:
        assert answer.headers["content-security-policy"] == POLICY
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "server" not in answer.headers
    assert "'unsafe-inline'" not in POLICY and "default-src 'none'" in POLICY


def test_a_form_too_large_is_refused(client: TestClient, runtime: DeskRuntime) -> None:
    let_in(client, runtime)
    answer = client.post("/unlock", data={"passphrase": "x" * 300_000}, headers=ORIGIN)
    assert answer.status_code == 413
    assert runtime.session is None


def wait_for_fetch(client: TestClient, deadline: float = 30.0) -> dict[str, object]:
    """Poll /status, as the page does, until the background check has run."""
    seen: list[dict[str, object]] = []

    def fetched() -> object:
        seen.append(client.get("/status").json())
        return seen[-1]["fetches"]

    wait_until(fetched, timeout=deadline, why=lambda: "the desk never checked the relay")
    return seen[-1]


def test_hostile_text_is_shown_as_text(leads: Leads) -> None:
    hostile = "<script>alert(1)</script> \u202eevil\u202c \x1b[31m <img src=x onerror=alert(2)>"
    case = leads.post(hostile, safe_now="no")
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with TestClient(create_desk(runtime, PORT), base_url=BASE, follow_redirects=False) as client:
        let_in(client, runtime)
        assert client.post("/unlock", data={"passphrase": PASS}, headers=ORIGIN).status_code == 303
        assert wait_for_fetch(client)["error"] == ""
        ref = case_ref(case.keys.case_id)
        assert f'data-ref="{ref}"' in client.get("/").text
        page = client.get(f"/case/{ref}").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "\\u202e" in page  # the override shown, not obeyed
    assert "\x1b" not in page and "\\x1b[31m" in page
    # Opening it told the student the school read it.
    assert [p.header.kind for p in leads.thread(case)] == ["report", "receipt"]


def test_the_desk_imports_nothing_from_the_relay_or_the_builder() -> None:
    """Run in a fresh interpreter: importing the desk loads no module of relay/ or builder/."""
    code = (
        "import sys, keytool.desk.server, keytool.__main__; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('relay', 'builder', 'demo')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def unlocked(client: TestClient, runtime: DeskRuntime) -> None:
    let_in(client, runtime)
    assert client.post("/unlock", data={"passphrase": PASS}, headers=ORIGIN).status_code == 303


def test_what_cannot_be_sent_says_why_and_keeps_the_draft(leads: Leads) -> None:
    case = leads.post("a report", safe_now="yes")
    ref = case_ref(case.keys.case_id)
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with TestClient(create_desk(runtime, PORT), base_url=BASE, follow_redirects=False) as client:
        unlocked(client, runtime)
        wait_for_fetch(client)
        empty = client.post(f"/case/{ref}/reply", data={"text": "   "}, headers=ORIGIN)
        assert empty.status_code == 400 and "Not sent: the reply is empty" in empty.text
        long = "x" * 20_001
        too_long = client.post(f"/case/{ref}/reply", data={"text": long}, headers=ORIGIN)
        assert too_long.status_code == 400 and "longer than 20000" in too_long.text
        assert long in too_long.text  # the draft is still in the box
        bad = client.post(
            f"/case/{ref}/status",
            data={"status": "solved", "disposition": "", "note": "kept"},
            headers=ORIGIN,
        )
        assert bad.status_code == 400 and "use one of new, in_progress" in bad.text
        assert "kept" in bad.text
        assert client.get("/case/0123456789").status_code == 404
        assert client.get("/case/nonsense").status_code == 404
    # Nothing reached the student.
    assert [p.header.kind for p in leads.thread(case)] == ["report"]


def test_a_relay_out_of_reach_is_shown_and_the_inbox_still_opens(
    home: Path, tmp_path: Path
) -> None:
    runtime = DeskRuntime(home, config=None, relay=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_desk(runtime, PORT), base_url=BASE, follow_redirects=False) as client:
        unlocked(client, runtime)
        status = wait_for_fetch(client)
        assert "cannot reach the relay" in str(status["error"])
        page = client.get("/").text
        assert "The last check did not work" in page and "No cases yet" in page
        assert "does not know your colleagues" in page  # no --config given
