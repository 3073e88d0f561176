"""Notices to staff: one per recipient per window, no content, durable across a crash.

A real SMTP server (aiosmtpd) and a real HTTP receiver on loopback stand in for
the school's mail and chat; the relay is the real one, in its own process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from quietdoor.config import (
    ConfigError,
    Deployment,
    NotifySettings,
    dump_config,
    load_config,
    parse_config,
)
from relay.notify import SENDERS, Notifier, NotifyError, Stamp, retry_delay, send_due
from relay.store import NewMessage, Write
from relay.stores import open_store

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import new_case, update
from .support.mail import DANA_EMAIL, Mailbox
from .support.paths import EXAMPLE
from .support.processes import free_port, start_relay, stop_relay, wait_until

SMTP_USER, SMTP_PASSWORD = "relay", "mail server password"
PASSWORD = {"QUIETDOOR_SMTP_PASSWORD": SMTP_PASSWORD}


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback that asks our relay to log in."""
    with Mailbox(authenticator=_authenticate) as box:
        yield box


@dataclasses.dataclass
class Hook:
    url: str
    posts: list[dict[str, Any]]
    statuses: list[int]  # answers to give, in order; 200 when empty


@pytest.fixture
def hook() -> Iterator[Hook]:
    received = Hook(url="", posts=[], statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers["content-length"])
            received.posts.append(json.loads(self.rfile.read(length)))
            status = received.statuses.pop(0) if received.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/lincoln"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def with_notices(tmp_path: Path, smtp_port: int, hook_url: str, window: float) -> KeyedDeployment:
    """The example with Dana told by email and Marcus (the district lead) by webhook."""
    td = make_deployment(tmp_path)
    d = td.deployment
    recipients = tuple(
        dataclasses.replace(r, email=DANA_EMAIL)
        if r.id == "dana-ortiz"
        else dataclasses.replace(r, webhook=hook_url)
        if r.id == "marcus-lee"
        else r
        for r in d.recipients
    )
    notify = NotifySettings(
        smtp=f"smtp://{SMTP_USER}@127.0.0.1:{smtp_port}",
        sender="quietdoor@riverside.example",
        window_minutes=window,
    )
    td.path.write_text(dump_config(dataclasses.replace(d, recipients=recipients, notify=notify)))
    return dataclasses.replace(td, deployment=load_config(td.path))


SENTENCE = "There is something new in Quiet Door for Lincoln High School. Open your key tool."


def test_one_notice_per_recipient_per_window_with_no_content(
    tmp_path: Path,
    mailbox: Mailbox,
    hook: Hook,
    monkeypatch: pytest.MonkeyPatch,
    store_url: str,
) -> None:
    box, port = mailbox, mailbox.port
    td = with_notices(tmp_path, port, hook.url, window=0.05)  # 3-second windows
    monkeypatch.setenv("QUIETDOOR_SMTP_PASSWORD", SMTP_PASSWORD)
    relay = start_relay(td.path, store_url, tmp_path)
    notifier = Notifier(td.deployment, env=PASSWORD)
    spans: list[set[int]] = []  # each message's window: the one before its post, or after

    def post(send: Callable[[], httpx.Response]) -> None:
        before = notifier.due_time(datetime.now(UTC))
        assert send().status_code == 201
        spans.append({before, notifier.due_time(datetime.now(UTC))})

    try:
        cases = [new_case(td.deployment, "lincoln-high", f"secret words {i}") for i in range(3)]
        for case in cases:
            post(lambda case=case: httpx.post(relay.url + "/api/v1/cases", json=case.body))
        post(
            lambda: httpx.post(
                relay.url + "/api/v1/case/messages",
                json=update(td.deployment, cases[0], "more secret words"),
                headers=cases[0].headers,
            )
        )
        # Every notice is written with its message, so once none waits, all went.
        store = open_store(store_url)
        try:
            wait_until(
                lambda: store.pending_notices() == 0,
                why=lambda: f"{store.pending_notices()} notices wait; the log:\n{relay.log()}",
            )
        finally:
            store.close()
    finally:
        stop_relay(relay)
    # Four messages, one window (sometimes two, when a window ends mid-way): one notice a
    # window, by each channel: at least one for each window that surely had a message, at
    # most one for each it may have had.
    surely = {w for span in spans if len(span) == 1 for w in span}
    maybe = set().union(*spans)
    assert max(len(surely), 1) <= len(box.messages) == len(hook.posts) <= len(maybe) < 4
    assert {(tuple(to), subject, body) for to, subject, body in box.texts()} == {
        ((DANA_EMAIL,), "Something new in Quiet Door", SENTENCE)
    }
    raw = b"".join(raw for _to, raw in box.messages)
    assert {p["text"] for p in hook.posts} == {SENTENCE}
    everything = raw.decode() + json.dumps(hook.posts)
    assert "secret" not in everything
    assert all(c.case_id not in everything for c in cases)
    assert "Uvicorn running" in relay.log() and "secret" not in relay.log()


def test_a_notice_survives_a_crash_before_it_is_sent(
    tmp_path: Path, mailbox: Mailbox, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = mailbox, mailbox.port
    td = with_notices(tmp_path, port, hook.url, window=0.1)  # 6-second windows
    monkeypatch.setenv("QUIETDOOR_SMTP_PASSWORD", SMTP_PASSWORD)
    store = f"sqlite:///{tmp_path / 'relay.db'}"
    first = start_relay(td.path, store, tmp_path)
    case = new_case(td.deployment, "riverside-middle")  # Marcus's webhook only
    assert httpx.post(first.url + "/api/v1/cases", json=case.body).status_code == 201
    first.process.send_signal(signal.SIGKILL)  # long before its window ends
    first.process.wait()
    assert hook.posts == []
    second = start_relay(td.path, store, tmp_path)
    try:
        wait_until(lambda: hook.posts)
    finally:
        stop_relay(second)
    riverside = "There is something new in Quiet Door for Riverside Middle School."
    assert hook.posts == [{"text": riverside + " Open your key tool."}]
    assert box.messages == []  # Dana reads Lincoln High only


def test_a_failed_delivery_is_tried_again_later(tmp_path: Path, hook: Hook) -> None:
    td = with_notices(tmp_path, free_port(), hook.url, window=15)
    notifier = Notifier(td.deployment, env=PASSWORD)
    store = open_store(f"sqlite:///{tmp_path / 'n.db'}")
    hook.statuses = [500]
    now = datetime(2026, 11, 30, 10, 7, tzinfo=UTC)
    due = notifier.due_time(now)
    for school in ("lincoln-high", "riverside-middle"):
        store.keep_now(
            Write(
                dataclasses.replace(_message(school), nonce=school),
                None,
                notifier.pending(school, now),
            )
        )
    clock = [float(due)]
    try:
        assert send_now(notifier, store, clock[0]) == 0  # 500, and email fails
        assert hook.posts and len(hook.posts) == 1
        assert send_now(notifier, store, clock[0]) == 0  # not due yet
        clock[0] += retry_delay(1)
        assert send_now(notifier, store, clock[0]) == 1  # the webhook
        # One notice for both of Marcus's schools: the district lead hears once per window.
        assert hook.posts[-1]["text"] == (
            "There is something new in Quiet Door for Lincoln High School and "
            "Riverside Middle School. Open your key tool."
        )
    finally:
        store.close()


def send_now(notifier: Notifier, store: Any, now: float) -> int:
    """Run one round of the sender on its own loop, in its own thread.

    Playwright's sync API (used by the browser tests in this session) leaves an event
    loop set on the main thread, where asyncio.run would refuse to start another.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, send_due(notifier, store, lambda: now)).result()


def _message(school: str) -> NewMessage:
    return NewMessage(
        school=school, case_id=None, author="staff", nonce="n", body="{}", day="2026-11-30"
    )


@pytest.mark.parametrize(
    ("mode", "school", "now", "due"),
    [
        ("window", "lincoln-high", "2026-11-30T10:07:30+00:00", "2026-11-30T10:15:00+00:00"),
        ("window", "lincoln-high", "2026-11-30T10:15:00+00:00", "2026-11-30T10:30:00+00:00"),
        # Digest at 07:00 in Los Angeles (15:00 UTC in winter): today's if not yet past.
        ("digest", "lincoln-high", "2026-11-30T14:59:00+00:00", "2026-11-30T15:00:00+00:00"),
        ("digest", "lincoln-high", "2026-11-30T15:00:00+00:00", "2026-12-01T15:00:00+00:00"),
        # Cedar Valley's district sets America/Chicago: 07:00 there is 13:00 UTC.
        ("digest", "cedar-valley-high", "2026-11-30T12:59:00+00:00", "2026-11-30T13:00:00+00:00"),
        ("digest", "cedar-valley-high", "2026-11-30T13:00:00+00:00", "2026-12-01T13:00:00+00:00"),
    ],
)
def test_notices_go_out_at_the_end_of_fixed_windows(
    mode: str, school: str, now: str, due: str
) -> None:
    d = load_config(EXAMPLE)
    districts = [
        dataclasses.replace(x, timezone="America/Chicago") if x.slug == "cedar-valley" else x
        for x in d.districts
    ]
    hooked = [dataclasses.replace(r, webhook="https://hooks.example.org/q") for r in d.recipients]
    d = dataclasses.replace(
        d,
        notify=dataclasses.replace(d.notify, mode=mode),
        districts=tuple(districts),
        recipients=tuple(hooked),
    )
    notifier = Notifier(d, env={})
    notices = notifier.pending(school, datetime.fromisoformat(now))
    assert notices and {n.due for n in notices} == {int(datetime.fromisoformat(due).timestamp())}


def test_retries_back_off_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


SMTPS = "smtps://mail.example.org"
FROM = "a@b.org"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"notify": {"smtp": "smtp://mail.example.org:25", "from": FROM}},
            "notify.smtp",
            "starttls",
        ),
        (
            {"notify": {"smtp": "smtps://u:pw@mail.example.org", "from": FROM}},
            "notify.smtp",
            "PASSWORD",
        ),
        ({"notify": {"smtp": "ftp://x", "from": FROM}}, "notify.smtp", "smtp+starttls"),
        ({"notify": {"smtp": SMTPS, "from": "not an address"}}, "notify.from", "email address"),
        ({"notify": {"window_minutes": 0}}, "notify.window_minutes", "0 to 1440"),
        ({"notify": {"mode": "hourly"}}, "notify.mode", "window, digest"),
        ({"notify": {"digest_at": "7am"}}, "notify.digest_at", "07:00"),
        ({"recipient": {"email": "dana@a.example"}}, "recipients[0].email", "set [notify] smtp"),
        ({"recipient": {"webhook": "http://chat.example/h"}}, "recipients[0].webhook", "https"),
    ],
)
def test_notice_settings_are_checked(change: dict[str, Any], field: str, words: str) -> None:
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text())
    if "notify" in change:
        raw["notify"] = change["notify"]
    else:
        raw["recipients"][0].update(change["recipient"])
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field_name == field and words in err.value.problem


def test_a_webhook_can_live_in_the_environment(hook: Hook, tmp_path: Path) -> None:
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text())
    raw["recipients"][0]["webhook"] = "env:LINCOLN_HOOK"
    d = parse_config(raw)
    assert d.recipients[0].webhook == "env:LINCOLN_HOOK"
    notifier = Notifier(d, env={"LINCOLN_HOOK": hook.url})
    target = notifier.target("dana-ortiz", "webhook")
    assert target is not None and target.address == hook.url
    notifier.deliver(target, SENTENCE, Stamp("notice", 0))
    assert hook.posts == [{"text": SENTENCE}]
    with pytest.raises(Exception, match="holds no webhook URL"):
        Notifier(d, env={})


@pytest.mark.parametrize("url", ["http://localhost.example.org/h", "http://127.0.0.1.nip.io/h"])
def test_a_webhook_from_the_environment_is_not_sent_in_the_clear_to_another_host(
    url: str,
) -> None:
    """Only https, or plain http to this machine itself: the host is compared whole."""
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text())
    raw["recipients"][0]["webhook"] = "env:LINCOLN_HOOK"
    with pytest.raises(Exception, match="holds no webhook URL"):
        Notifier(parse_config(raw), env={"LINCOLN_HOOK": url})


def webhook_deployment() -> Deployment:
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text())
    raw["recipients"][0]["webhook"] = "https://chat.example/h"
    return parse_config(raw)


def test_a_channel_without_a_sender_is_refused_at_start_naming_it() -> None:
    with pytest.raises(NotifyError) as err:
        Notifier(webhook_deployment(), env={}, senders={"email": SENDERS["email"]})
    assert "dana-ortiz" in str(err.value) and "'webhook'" in str(err.value)
    assert "known: email" in str(err.value)


def test_a_notice_goes_through_the_sender_its_channel_names() -> None:
    sent: list[tuple[str, str]] = []

    def record(_notifier: Notifier, address: str, text: str, _stamp: Stamp) -> None:
        sent.append((address, text))

    notifier = Notifier(webhook_deployment(), env={}, senders={**SENDERS, "webhook": record})
    target = notifier.target("dana-ortiz", "webhook")
    assert target is not None
    notifier.deliver(target, SENTENCE, Stamp("notice", 0))
    assert sent == [("https://chat.example/h", SENTENCE)]
