"""The key tool against hostile senders and a hostile relay: it names what is bad, shows the rest.

- Hostile payloads: every class an attacker can seal to a school with the public
  keys, posted through a real relay beside a genuine report.
- Terminal escapes: what a student wrote never reaches a terminal as a control
  sequence (checked in a real pseudo-terminal).
- A hostile relay: a small server on loopback that answers in every wrong way.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from nacl.signing import SigningKey

from keytool import present, session

from .support.envelopes import StudentCase, new_case, staff_message
from .support.hostile import HOSTILE_PAYLOADS
from .support.keytool import PASS, Leads, listed_cases, run_keytool
from .support.paths import ROOT

pytestmark = pytest.mark.usefixtures("keytool_passphrase")

GENUINE = "Someone at the bus stop makes me go with him. marker 8080 — ¿me ayudan? 🙂"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\rFAKE LINE\x08\x9b31m\u202egnp.exe\u2066\u2028end"


def post(leads: Leads, case: StudentCase) -> str:
    answer = httpx.post(leads.relay.url + "/api/v1/cases", json=case.body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_hostile_payloads_are_named_and_the_genuine_report_still_shows(
    leads: Leads, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad_ids = {
        name: post(leads, new_case(leads.deployment, "lincoln-high", plaintext=plaintext))
        for name, plaintext in HOSTILE_PAYLOADS.items()
    }
    genuine = new_case(leads.deployment, "lincoln-high", GENUINE, "no")
    post(leads, genuine)
    leads.fetch(capsys)

    code, out, err = run_keytool(capsys, "--home", leads.home, "list")
    assert code == 0
    assert "marker 8080" in out and "NOT SAFE NOW" in out
    for name, message_id in bad_ids.items():
        assert f"skipped message {message_id}" in err, name
    assert "Traceback" not in err

    code, out, err = run_keytool(capsys, "--home", leads.home, "list", "--json")
    document = json.loads(out)
    assert [c["case_id"] for c in document["cases"]] == [genuine.case_id]
    assert {u["id"] for u in document["unreadable"]} == set(bad_ids.values())

    ref = document["cases"][0]["id"]
    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", ref)
    assert code == 0 and GENUINE in out
    code, out, _ = run_keytool(capsys, "--home", leads.home, "show", ref, "--json")
    assert json.loads(out)["messages"][0]["payload"]["answers"]["what"] == GENUINE

    course = tmp_path / "course.json"
    course.write_text(json.dumps({"modules": []}))
    code, _, err = run_keytool(capsys, "--home", leads.home, "roster", "--modules", course)
    assert code == 0 and "Traceback" not in err


def _run_in_pty(args: list[str]) -> bytes:
    """Run the key tool with a pseudo-terminal as its stdout, as a lead's terminal would be."""
    leader, follower = pty.openpty()
    env = {**os.environ, "QUIETDOOR_PASSPHRASE": PASS, "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "keytool", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
    )
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(leader)
    return output


def test_no_escape_sequence_from_a_payload_reaches_the_terminal(
    leads: Leads, capsys: pytest.CaptureFixture[str]
) -> None:
    crafted = new_case(leads.deployment, "lincoln-high", "before " + ESCAPES + " after", "no")
    post(leads, crafted)
    post(leads, new_case(leads.deployment, "lincoln-high", "an ordinary report"))
    leads.fetch(capsys)
    ref = next(c["id"] for c in listed_cases(capsys, leads.home) if c["case_id"] == crafted.case_id)
    for args in (["list"], ["show", ref], ["list", "--json"], ["show", ref, "--json"]):
        screen = _run_in_pty(["--home", str(leads.home), *args])
        text = screen.decode("utf-8")
        assert ("before" in text) == (args != ["list", "--json"]), args
        assert b"\x1b" not in screen and b"\x07" not in screen and b"\x08" not in screen, args
        assert "\x9b" not in text and "\u202e" not in text and "\u2028" not in text, args
        # Every line ends where the terminal's own line discipline ends it: no stray \r.
        assert "\r" not in text.replace("\r\n", ""), args
        if "--json" not in args:
            assert "\\x1b[2J" in text and "\\u202e" in text, args


def test_clean_passes_printable_text_through_and_escapes_only_unprintable_characters() -> None:
    assert present.clean(GENUINE) is GENUINE  # nothing to escape: returned as it is
    assert present.clean("tab\there") == "tab\\there"
    escaped = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if (char := chr(code)) in "\t\n" or unicodedata.category(char) in present.ESCAPED
    ]
    assert len(escaped) > 500
    assert [c for c in escaped if chr(int(c[2:], 16)).isprintable()] == []


# --- a hostile relay -----------------------------------------------------------


Responder = Callable[[str], tuple[int, bytes]]


@dataclasses.dataclass
class FakeRelay:
    url: str
    respond: Responder
    requests: list[str]


@pytest.fixture
def fake_relay() -> Iterator[FakeRelay]:
    relay = FakeRelay(url="", respond=lambda path: (404, b"{}"), requests=[])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            relay.requests.append(self.path)
            status, body = relay.respond(self.path)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    relay.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        server.shutdown()
        server.server_close()


def row(
    cursor: int,
    envelope: dict[str, Any],
    case_id: str | None,
    author: str = "public",
    received: str = "2026-11-29",
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "cursor": cursor,
        "id": message_id or f"{cursor:024x}",
        "received": received,
        "case_id": case_id,
        "author": author,
        "envelope": envelope,
    }


def after(path: str) -> int:
    """The cursor a key tool's request asks to start after."""
    return int(parse_qs(urlsplit(path).query)["after"][0])


def page(*rows: dict[str, Any], more: bool = False) -> bytes:
    return json.dumps({"messages": list(rows), "more": more}).encode()


def broken_answers(genuine: StudentCase) -> list[tuple[str, Responder, str]]:
    good = row(1, genuine.body["envelope"], genuine.case_id)

    def endless(path: str) -> tuple[int, bytes]:
        after = re.search(r"after=(\d+)", path)
        cursor = int(after[1]) + 1 if after else 1
        return 200, page(row(cursor, genuine.body["envelope"], genuine.case_id), more=True)

    def answer(body: bytes, status: int = 200) -> Responder:
        return lambda path: (status, body)

    many = [dict(good, cursor=i + 1, id=f"{i + 1:024x}") for i in range(201)]
    elsewhere = dict(good, envelope=dict(good["envelope"], school="riverside-middle"))
    return [
        ("more forever", endless, "keeps saying there is more"),
        ("huge answer", answer(b'{"messages":[' + b" " * (33 << 20) + b"]}"), "larger than"),
        ("not JSON", answer(b"<html>oops</html>"), "not acceptable JSON"),
        ("non-finite number", answer(b'{"messages":[],"more":false,"x":NaN}'), "NaN"),
        ("huge number", answer(b'{"messages":[],"more":' + b"9" * 400 + b"}"), "digits"),
        ("deep JSON", answer(b"[" * 3000 + b"]" * 3000), "nested"),
        ("a list", answer(b"[]"), "not a JSON object"),
        ("more but empty", answer(page(more=True)), "empty page"),
        ("cursor backwards", answer(page(good, dict(good, cursor=1, id="b" * 24))), "go forward"),
        ("odd id", answer(page(dict(good, id="-rf"))), "malformed"),
        ("odd day", answer(page(dict(good, received="2026-02-30"))), "malformed"),
        ("odd author", answer(page(dict(good, author="admin"))), "malformed"),
        ("odd case id", answer(page(dict(good, case_id="@@"))), "case id"),
        ("extra field", answer(page(dict(good, ip="1.2.3.4"))), "unexpected fields"),
        ("too many rows", answer(page(*many)), "page of messages"),
        ("another school's row", answer(page(elsewhere)), "another school"),
        ("a 500 with a hostile message", answer(b'{"error":"\x1b[2Jgone"}', 500), "HTTP 500"),
    ]


@pytest.mark.parametrize("index", range(17))
def test_a_broken_relay_gets_one_line_and_the_inbox_stays_as_it_was(
    leads: Leads,
    capsys: pytest.CaptureFixture[str],
    fake_relay: FakeRelay,
    index: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "More forever" must meet the page cap; 50 pages show that as well as 5,000 and take a second.
    monkeypatch.setattr(session, "MAX_PAGES", 50)
    genuine = new_case(leads.deployment, "lincoln-high", GENUINE)
    post(leads, genuine)
    leads.fetch(capsys)
    before = listed_cases(capsys, leads.home)
    name, respond, words = broken_answers(genuine)[index]
    fake_relay.respond = respond
    code, _, err = run_keytool(
        capsys, "--home", leads.home, "fetch", "--relay", fake_relay.url, "--school", "lincoln-high"
    )
    assert code == 1, name
    assert words in err and err.count("\n") == 1 and "Traceback" not in err, (name, err)
    assert "\x1b" not in err
    assert listed_cases(capsys, leads.home) == before, name


def test_a_lying_relay_cannot_replay_move_or_forge_unnoticed(
    leads: Leads, capsys: pytest.CaptureFixture[str], fake_relay: FakeRelay
) -> None:
    # Marcus Lee, the district lead, reads both Lincoln High and Riverside Middle.
    d = leads.deployment
    genuine = new_case(d, "lincoln-high", GENUINE)
    other = new_case(d, "lincoln-high", "another student's case")
    stranger = SigningKey.generate()
    forged = staff_message(d, genuine, "dana-ortiz", stranger, "Case closed, nothing to see.")
    riverside = new_case(d, "riverside-middle", "a Riverside report")
    moved = dict(riverside.body["envelope"], school="lincoln-high")
    rows = [
        row(1, genuine.body["envelope"], genuine.case_id),
        row(2, genuine.body["envelope"], genuine.case_id),  # the same message again
        row(3, other.body["envelope"], genuine.case_id),  # another case's report, filed here
        row(4, forged, genuine.case_id, author="staff"),  # signed by someone not at the school
        row(5, moved, riverside.case_id),  # Riverside's report, passed off as Lincoln's
        row(6, other.body["envelope"], other.case_id, received="2027-06-01"),  # held back
    ]
    # It lies about what is in the rows, not about cursors: it serves those after the asked one.
    fake_relay.respond = lambda path: (200, page(*(r for r in rows if r["cursor"] > after(path))))
    code, out, err = run_keytool(
        capsys,
        "--home",
        leads.colleague,
        "--config",
        leads.config,
        "fetch",
        "--relay",
        fake_relay.url,
        "--school",
        "lincoln-high",
    )
    assert code == 0, err
    code, out, err = run_keytool(capsys, "--home", leads.colleague, "list", "--json")
    document = json.loads(out)
    cases = {c["case_id"]: c for c in document["cases"]}
    assert set(cases) == {genuine.case_id, other.case_id}
    assert cases[genuine.case_id]["messages"] == 1
    assert "repeats message" in " ".join(document["warnings"])
    reasons = {u["id"]: u["reason"] for u in document["unreadable"]}
    assert "another case" in reasons[f"{3:024x}"]
    assert "not this school's" in reasons[f"{4:024x}"]
    assert "sealed for school 'riverside-middle'" in reasons[f"{5:024x}"]
    code, out, _ = run_keytool(
        capsys, "--home", leads.colleague, "show", cases[other.case_id]["id"], "--json"
    )
    assert "the relay dated it 2027-06-01" in json.loads(out)["messages"][0]["warnings"][0]
