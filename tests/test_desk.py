"""The desk in-process (Starlette's TestClient): who is let in, what every answer carries,
and what its pages make of hostile text. The browser tests are in test_desk_browser.py."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from keytool.cases import case_ref
from keytool.desk import peers
from keytool.desk.app import create_desk
from keytool.desk.guard import COOKIE, POLICY
from keytool.desk.runtime import DeskRuntime

from .support.keytool import PASS, Leads, run_keytool
from .support.old_relay import old_relay
from .support.paths import ROOT
from .support.processes import DeskProcess, free_port, start_desk, stop_desk, wait_until

HOST = "127.31.4.159"  # on Linux the desk takes a random 127.x.y.z
PORT = 47123
BASE = f"http://{HOST}:{PORT}"
ORIGIN = {"origin": BASE}


@pytest.fixture
def runtime(home: Path) -> DeskRuntime:
    return DeskRuntime(home, config=None, relay=None)


def desk_client(runtime: DeskRuntime) -> TestClient:
    """The desk in-process: TestClient has no socket, so no peer to check (see the process
    tests below for that)."""
    app = create_desk(runtime, HOST, PORT, peer_ok=None)
    return TestClient(app, base_url=BASE, follow_redirects=False)


@pytest.fixture
def client(runtime: DeskRuntime) -> Iterator[TestClient]:
    with desk_client(runtime) as c:
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
    other = desk_client(runtime)
    answer = other.get(f"/open?key={secret}")
    assert answer.status_code == 403 and "used already" in answer.text
    assert "set-cookie" not in answer.headers
    # The browser that was let in may follow the link again (a prefetch spent it first).
    assert client.get(f"/open?key={secret}").status_code == 303


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        f"evil.example:{PORT}",
        HOST,
        f"localhost:{PORT}",
        f"127.0.0.1:{PORT}",
        f"{HOST}:1",
    ],
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
        {"origin": f"http://{HOST}:8000"},
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


def test_the_inbox_drawn_before_the_first_check_runs_says_it_is_checking(
    runtime: DeskRuntime,
) -> None:
    # Without its lifespan the client runs no fetcher: the page is drawn before any fetch
    # starts, which a loaded machine can do too. It must watch for the check, not sit empty.
    client = desk_client(runtime)
    let_in(client, runtime)
    assert client.post("/unlock", data={"passphrase": PASS}, headers=ORIGIN).status_code == 303
    page = client.get("/").text
    assert 'data-checking="yes"' in page and "Checking for new messages" in page
    assert client.get("/status").json()["checking"] is True


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
    with desk_client(runtime) as client:
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


@pytest.mark.parametrize(
    ("lang", "what", "name"),
    [("ar", "شخص يجبرني على العمل. عمري 15 سنة.", "Arabic"), ("zh", "有人逼我工作。", "Chinese")],
)
def test_a_report_in_another_script_is_shown_in_its_own_direction(
    leads: Leads, lang: str, what: str, name: str
) -> None:
    case = leads.post(what, lang=lang)
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with desk_client(runtime) as client:
        let_in(client, runtime)
        assert client.post("/unlock", data={"passphrase": PASS}, headers=ORIGIN).status_code == 303
        assert wait_for_fetch(client)["error"] == ""
        page = client.get(f"/case/{case_ref(case.keys.case_id)}").text
    assert f'<p class="text" dir="auto">{what}</p>' in page  # the browser finds its direction
    assert f"written in {name}" in page
    assert 'id="reply-text" name="text" dir="auto"' in page  # and the lead's reply's


def test_the_desk_imports_nothing_from_the_relay_or_the_builder() -> None:
    """Run in a fresh interpreter: importing the desk loads no module of relay/ or builder/."""
    code = (
        "import sys, keytool.desk.server, keytool.cli; "
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
    with desk_client(runtime) as client:
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
    with desk_client(runtime) as client:
        unlocked(client, runtime)
        status = wait_for_fetch(client)
        assert "cannot reach the relay" in str(status["error"])
        page = client.get("/").text
        assert "The last check did not work" in page and "No cases yet" in page
        assert "does not know your colleagues" in page  # no --config given


def test_a_check_through_an_older_relay_says_so_on_the_page(leads: Leads) -> None:
    leads.post("one")
    with old_relay(leads.relay.url) as url:
        runtime = DeskRuntime(leads.home, config=str(leads.config), relay=url)
        with desk_client(runtime) as client:
            unlocked(client, runtime)
            assert not wait_for_fetch(client)["error"]
            page = client.get("/").text
    assert "The last check noticed: the relay does not take acknowledgments" in page


def test_opening_a_case_sends_nothing_and_its_post_sends_the_receipt_once(leads: Leads) -> None:
    case = leads.post("read me", safe_now="yes")
    ref = case_ref(case.keys.case_id)
    runtime = DeskRuntime(leads.home, config=str(leads.config), relay=leads.relay.url)
    with desk_client(runtime) as client:
        unlocked(client, runtime)
        wait_for_fetch(client)
        for _ in range(2):  # a reload, or a page on another port making the lead's browser GET
            page = client.get(f"/case/{ref}")
            assert page.status_code == 200 and 'id="receipt"' in page.text
        assert [p.header.kind for p in leads.thread(case)] == ["report"]
        other = {"origin": f"http://{HOST}:8000", "sec-fetch-site": "same-site"}
        assert client.post(f"/case/{ref}/receipt", headers=other).status_code == 403
        assert [p.header.kind for p in leads.thread(case)] == ["report"]
        for _ in range(2):  # the page's POST, then the button pressed as well
            sent = client.post(f"/case/{ref}/receipt", headers=ORIGIN)
            assert sent.status_code == 303
            assert sent.headers["location"] == f"/case/{ref}?done=receipt"
        assert 'id="receipt"' not in client.get(f"/case/{ref}").text
    assert [p.header.kind for p in leads.thread(case)] == ["report", "receipt"]


def test_a_refused_request_learns_nothing_about_who_is_signed_in(
    client: TestClient, runtime: DeskRuntime
) -> None:
    unlocked(client, runtime)
    assert "Dana Ortiz" in client.get("/").text
    stranger = desk_client(runtime)
    answers = [
        stranger.get("/open?key=spent-or-guessed"),
        stranger.get("/"),
        stranger.get("/status"),
        stranger.post("/lock", headers={"origin": "http://evil.example"}),
        client.get("/", headers={"host": "evil.example"}),
    ]
    for answer in answers:
        assert answer.status_code == 403
        assert "Dana" not in answer.text and "Ortiz" not in answer.text
        assert "Unlocked" not in answer.text and "Lock" not in answer.text
    assert runtime.session is not None


class HandClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_the_desk_locks_when_the_lead_stops_using_it_not_when_the_page_polls(home: Path) -> None:
    clock = HandClock()
    runtime = DeskRuntime(home, config=None, relay=None, idle_minutes=1, clock=clock)
    with desk_client(runtime) as client:
        unlocked(client, runtime)
        clock.advance(45)
        assert client.get("/").status_code == 200  # a page load: the minute starts again
        clock.advance(45)
        assert client.get("/status").json()["unlocked"] is True
        clock.advance(10)  # 55 s since the page load: polling twice did not count
        assert client.get("/status").json()["unlocked"] is True
        clock.advance(5)
        assert client.get("/status").json()["unlocked"] is False
        assert runtime.session is None
        page = client.get("/").text
        assert 'type="password"' in page and "locked itself after 1 minute without use" in page


def test_the_idle_watcher_locks_without_any_request(home: Path) -> None:
    clock = HandClock()
    runtime = DeskRuntime(home, config=None, relay=None, idle_minutes=1, clock=clock)
    with desk_client(runtime) as client:
        unlocked(client, runtime)
        clock.advance(60)
        wait_until(lambda: runtime.session is None, timeout=15, why=lambda: "never locked")


@pytest.fixture
def desk(leads: Leads, tmp_path: Path) -> Iterator[DeskProcess]:
    running = start_desk(leads.home, leads.config, leads.relay.url, tmp_path)
    try:
        yield running
    finally:
        assert stop_desk(running) == 0, running.output()


def let_in_over_http(lead: httpx.Client, desk: DeskProcess) -> None:
    """What the lead's browser does: follow the link, then unlock."""
    assert lead.get(desk.link).status_code == 303
    unlock = lead.post("/unlock", data={"passphrase": PASS}, headers={"origin": desk.base})
    assert unlock.status_code == 303


def fetch_as(user: str, base: str, path: str, cookie: str) -> str:
    """GET a path from a process of `user` (bash's /dev/tcp: `nobody` may not run this
    venv's Python); what came back."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    request = f"GET {path} HTTP/1.0\\r\\nHost: {host}:{port}\\r\\nCookie: {cookie}\\r\\n\\r\\n"
    script = f'exec 3<>/dev/tcp/{host}/{port} && printf "{request}" >&3 && cat <&3'
    done = subprocess.run(
        ["/bin/bash", "-c", script], user=user, capture_output=True, timeout=60, cwd="/"
    )
    return done.stdout.decode("utf-8", "replace")


@pytest.mark.skipif(
    not peers.supported() or os.geteuid() != 0, reason="needs Linux and root to run as nobody"
)
def test_another_user_cannot_use_an_unlocked_desk(leads: Leads, desk: DeskProcess) -> None:
    leads.post("please help", safe_now="no")
    host = desk.base.removeprefix("http://").rsplit(":", 1)[0]
    assert host.startswith("127.") and host != "127.0.0.1"
    with httpx.Client(base_url=desk.base, timeout=30) as lead:
        let_in_over_http(lead, desk)
        wait_until(lambda: 'data-ref="' in lead.get("/").text, why=desk.output)
        cookie = f"{COOKIE}={lead.cookies[COOKIE]}"
        # Even holding the lead's cookie, another user's process gets nothing.
        me = pwd.getpwuid(os.getuid()).pw_name
        assert "Unlocked for Dana Ortiz" in fetch_as(me, desk.base, "/", cookie)  # as the lead
        for path in ("/", "/status", "/static/desk.js"):
            answer = fetch_as("nobody", desk.base, path, cookie)
            assert answer.startswith("HTTP/1.1 403") and answer.endswith("\r\n\r\nRefused."), answer
            assert "Dana" not in answer and "unlocked" not in answer
        assert lead.get("/status").json()["unlocked"] is True  # the lead's own still works


@pytest.mark.skipif(not peers.supported(), reason="/proc/net/tcp is Linux's")
def test_the_peer_s_socket_is_found_with_its_owner() -> None:
    with socket.create_server(("127.9.8.7", 0)) as server:
        with socket.create_connection(server.getsockname()) as peer:
            accepted, remote = server.accept()
            with accepted:
                local = accepted.getsockname()
                assert peers.peer_uid(remote, local) == os.getuid()
                assert peers.same_user({"client": remote, "server": local})
                assert peers.peer_uid(local, remote) == os.getuid()  # the desk's own end
                assert peers.peer_uid(remote, ("127.9.8.7", 1)) is None
            assert peer.getsockname() == remote
    assert not peers.same_user({"client": ("testclient", 50000), "server": local})
    assert not peers.same_user({"client": None, "server": local})


def test_open_puts_the_link_in_a_private_file_not_on_a_command_line(
    leads: Leads, tmp_path: Path
) -> None:
    record = tmp_path / "browser.json"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, urllib.parse\n"
        "path = urllib.parse.urlparse(sys.argv[1]).path\n"
        "seen = {'argv': sys.argv, 'cmdline': open('/proc/self/cmdline').read(),\n"
        "        'mode': os.stat(path).st_mode & 0o777, 'page': open(path).read(), 'path': path}\n"
        f"open({str(record)!r}, 'w').write(json.dumps(seen))\n"
    )
    browser.chmod(0o700)
    desk = start_desk(
        leads.home, leads.config, leads.relay.url, tmp_path, ("--open",), str(browser)
    )
    try:
        wait_until(record.exists, why=desk.output)
        seen = json.loads(record.read_text())
        secret = desk.link.split("key=", 1)[1]
        assert secret not in " ".join(seen["argv"]) and secret not in seen["cmdline"]
        assert seen["mode"] == 0o600 and desk.link in seen["page"]
        assert Path(seen["path"]).exists()
        assert httpx.get(desk.link).status_code == 303  # the browser follows the file's link
        wait_until(lambda: not Path(seen["path"]).exists(), why=lambda: "the file stayed")
    finally:
        assert stop_desk(desk) == 0, desk.output()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--idle-minutes", "0", "--idle-minutes must be 1 to 1440"),
        ("--idle-minutes", "1441", "--idle-minutes must be 1 to 1440"),
        ("--every", "9", "--every must be 10 to 86400 seconds"),
    ],
)
def test_a_desk_option_out_of_range_is_refused_before_it_starts(
    home: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    code, out, err = run_keytool(capsys, "--home", home, "desk", option, value)
    assert code != 0 and message in err and "Traceback" not in err
    assert "The desk for" not in out
