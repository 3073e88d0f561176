"""Test helpers: deployments with fresh keys, a real relay process, envelopes, signed requests.

Fixtures live in conftest.py and use these; tests import from here, never from conftest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
import zxingcpp
from aiosmtpd.controller import Controller
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from PIL import Image

from builder.site import build_site
from demo.prepare import PASSPHRASE as DEMO_PASSPHRASE
from demo.prepare import prepare
from keytool.__main__ import main as keytool_main
from keytool.identity import load_identity
from quietdoor import payloads, protocol
from quietdoor.config import Deployment, PreviousKeys, RelayLimits, dump_config, load_config
from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.signing import sign_request
from relay.store import SQLStore
from relay.stores import open_store

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
EXAMPLE = ROOT / "examples" / "demo.toml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POSTGRES = os.environ.get("QUIETDOOR_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@dataclass(frozen=True)
class Keys:
    box: PrivateKey
    signing: SigningKey


@dataclass(frozen=True)
class KeyedDeployment:
    path: Path
    deployment: Deployment
    keys: dict[str, Keys]  # recipient id -> private keys


def lenient_limits(**changes: Any) -> RelayLimits:
    """Relay limits for tests that are not about flood friction: no proof of work, no
    per-address limit (every test client shares one address)."""
    return dataclasses.replace(RelayLimits(proof_of_work=False, address_per_minute=0), **changes)


def make_deployment(tmp: Path, base_url: str | None = None, **changes: object) -> KeyedDeployment:
    """The example deployment with fresh keys for every recipient, written to tmp.

    Its relay limits are lenient_limits() unless `relay` is given.
    """
    changes.setdefault("relay", lenient_limits())
    example = load_config(EXAMPLE)
    keys = {r.id: Keys(PrivateKey.generate(), SigningKey.generate()) for r in example.recipients}
    recipients = tuple(
        dataclasses.replace(
            r, x25519=bytes(keys[r.id].box.public_key), ed25519=bytes(keys[r.id].signing.verify_key)
        )
        for r in example.recipients
    )
    urls = {"base_url": base_url, "relay_url": base_url} if base_url else {}
    deployment = dataclasses.replace(example, recipients=recipients, **urls, **changes)  # type: ignore[arg-type]
    path = tmp / "deployment.toml"
    path.write_text(dump_config(deployment), encoding="utf-8")
    return KeyedDeployment(path=path, deployment=load_config(path), keys=keys)


def run_on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, in a thread of its own.

    Playwright's sync API (used by the browser tests in this session) leaves an event
    loop set on the main thread, where asyncio.run would refuse to start another.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def wait_until(
    condition: Callable[[], object], timeout: float = 30.0, why: Callable[[], str] = str
) -> None:
    """Poll a condition until it holds; fail the test if it does not within the timeout.

    why: what to say when it fails (a server's log, say), read only then.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s. {why()}")
        time.sleep(0.05)


def rotate_in_config(deployment: Deployment, who: str, new: Keys, until: date) -> Deployment:
    """The deployment after `who` rotated to new keys, their old ones accepted until a day."""
    return dataclasses.replace(
        deployment,
        recipients=tuple(
            dataclasses.replace(
                r,
                x25519=bytes(new.box.public_key),
                ed25519=bytes(new.signing.verify_key),
                previous=(PreviousKeys(r.x25519, r.ed25519, until), *r.previous),
            )
            if r.id == who
            else r
            for r in deployment.recipients
        ),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RelayProcess:
    url: str
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_relay(
    config: Path,
    store: str,
    tmp: Path,
    static: Path | None = None,
    port: int | None = None,
    http: str = "auto",
) -> RelayProcess:
    """Start `python -m relay` on a free loopback port and wait until it is serving.

    Readiness is read from the relay's own log, not by polling the port, so a
    test can never mistake another process on a reused port for its relay; a
    lost race for a free port is retried on another one.
    """
    for _attempt in range(3):
        relay = _spawn_relay(config, store, tmp, static, port or free_port(), http)
        if relay is not None:
            return relay
        if port is not None:
            break
    raise RuntimeError("the relay did not start; see the relay-*.log files in " + str(tmp))


def _spawn_relay(
    config: Path, store: str, tmp: Path, static: Path | None, port: int, http: str
) -> RelayProcess | None:
    log_path = tmp / f"relay-{port}-{secrets.token_hex(3)}.log"
    args = [
        sys.executable,
        "-m",
        "relay",
        "--config",
        str(config),
        "--store",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--http",
        http,
    ]
    if static is not None:
        args += ["--static", str(static)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    ready = f"Uvicorn running on {url}".encode()
    deadline = time.monotonic() + 20
    while ready not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            return None
        time.sleep(0.05)
    db_path = Path(store.removeprefix("sqlite:///")) if store.startswith("sqlite") else Path()
    return RelayProcess(url=url, db_path=db_path, log_path=log_path, process=process)


def stop_relay(relay: RelayProcess) -> None:
    relay.process.terminate()
    try:
        relay.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        relay.process.kill()
        relay.process.wait()


@dataclass
class DeskProcess:
    """`python -m keytool desk` running: its one-time link, and its own output."""

    link: str
    base: str  # http://127.0.0.1:PORT
    out_path: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")


def start_desk(home: Path, config: Path, relay_url: str, tmp: Path) -> DeskProcess:
    """The desk on a free loopback port (it picks one), ready when it prints its link."""
    out_path = tmp / f"desk-{secrets.token_hex(3)}.log"
    args = [sys.executable, "-m", "keytool", "--home", str(home), "--config", str(config)]
    args += ["desk", "--relay", relay_url]
    env = {k: v for k, v in os.environ.items() if k != "QUIETDOOR_PASSPHRASE"}  # asked in the page
    with out_path.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while True:
        found = re.search(r"(http://127\.0\.0\.1:\d+)/open\?key=\S+", out_path.read_text())
        if found:
            return DeskProcess(found.group(0), found.group(1), out_path, process)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError("the desk did not start:\n" + out_path.read_text())
        time.sleep(0.05)


def stop_desk(desk: DeskProcess) -> int:
    """Ctrl-C, as the lead would press it; the exit code."""
    desk.process.send_signal(signal.SIGINT)
    try:
        return desk.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        desk.process.kill()
        return desk.process.wait()


@dataclass
class Site:
    deployment: Deployment
    dist: Path
    var: Path
    relay: RelayProcess


def serve_example(tmp: Path, mail_port: int | None = None) -> Site:
    """The example deployment with fresh keys for every lead (in tmp/var/keys/<id>), built
    and served by a real relay; stop it with stop_relay(site.relay).

    With mail_port, Dana Ortiz (Lincoln High's lead) is told of new messages by email,
    through the SMTP server on that loopback port, in windows of 3 seconds.
    """
    port = free_port()
    config, deployment = prepare(EXAMPLE, tmp / "var", port)
    # The page's proof of work stays on, as in production; but the whole suite is one
    # address, and sends a school more than a normal day's messages.
    deployment = dataclasses.replace(
        deployment,
        relay=dataclasses.replace(
            deployment.relay, address_per_minute=0, normal_daily_per_school=400
        ),
    )
    if mail_port is not None:
        deployment = dataclasses.replace(
            deployment,
            recipients=tuple(
                dataclasses.replace(r, email=DANA_EMAIL) if r.id == "dana-ortiz" else r
                for r in deployment.recipients
            ),
            notify=dataclasses.replace(
                deployment.notify,
                smtp=f"smtp://127.0.0.1:{mail_port}",
                sender="quietdoor@riverside.example",
                window_minutes=0.05,
            ),
        )
    config.write_text(dump_config(deployment), encoding="utf-8")
    deployment = load_config(config)
    build_site(deployment, tmp / "dist")
    relay = start_relay(
        config, f"sqlite:///{tmp / 'relay.db'}", tmp, static=tmp / "dist", port=port
    )
    return Site(deployment=deployment, dist=tmp / "dist", var=tmp / "var", relay=relay)


DANA_EMAIL = "dana@lincoln.example"


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, authenticator: Any = None) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.port = free_port()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def texts(self) -> list[tuple[list[str], str, str]]:
        """(to, subject, body) of every message, decoded."""
        out = []
        for to, raw in self.messages:
            mail = message_from_bytes(raw)
            body = mail.get_payload(decode=True)
            assert isinstance(body, bytes)
            out.append((to, str(mail["Subject"]), body.decode().strip()))
        return out


def keytool_cli(site: Site, *args: str, home: Path | None = None) -> str:
    """`python -m keytool` as a lead runs it (Dana Ortiz, Lincoln High's lead, by default)."""
    home = home or site.var / "keys" / "dana-ortiz"
    result = subprocess.run(
        [sys.executable, "-m", "keytool", "--home", str(home), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "QUIETDOOR_PASSPHRASE": DEMO_PASSPHRASE},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass(frozen=True)
class StudentCase:
    """A case as its student holds it: the code's keys, and what was posted to open it."""

    school: str
    keys: protocol.CaseKeys
    body: dict[str, Any]  # what POST /api/v1/cases takes
    code: str = ""  # the case code, as the page shows it

    @property
    def headers(self) -> dict[str, str]:
        """What proves the code: the case id and the auth token."""
        return {
            "x-qd-case": b64u_encode(self.keys.case_id),
            "authorization": "Bearer " + b64u_encode(self.keys.auth_token),
        }

    @property
    def case_id(self) -> str:
        return b64u_encode(self.keys.case_id)


def school_keys(deployment: Deployment, school: str) -> list[bytes]:
    return [r.x25519 for r in deployment.recipients_for(school)]


def new_case(
    deployment: Deployment,
    school: str,
    what: str = "test report",
    safe_now: str = "",
    plaintext: bytes | None = None,
    code: str | None = None,
    now: datetime | None = None,
    recipients: Sequence[bytes] | None = None,
) -> StudentCase:
    """A student's first report (or, with plaintext, anything an attacker cares to seal).

    recipients: the school's keys as a page would seal to them (default: the config's).
    """
    code = protocol.format_case_code(code or protocol.new_case_code())
    case = protocol.CaseKeys.derive(code)
    payload = report_payload(school, case, what, safe_now, now)
    school_pks = school_keys(deployment, school) if recipients is None else list(recipients)
    keys = [*school_pks, bytes(case.reply_key.public_key)]
    data = plaintext if plaintext is not None else payloads.encode(payloads.to_json(payload))
    envelope = protocol.seal(school, data, keys)
    body = protocol.NewCase(case.case_id, case.auth_hash, envelope).to_json()
    return StudentCase(school=school, keys=case, body=body, code=code)


def update(deployment: Deployment, case: StudentCase, text: str = "more") -> dict[str, Any]:
    payload = payloads.Update(
        header=payloads.Header.new("update", case.school, case.keys.case_id), lang="en", text=text
    )
    keys = [*school_keys(deployment, case.school), bytes(case.keys.reply_key.public_key)]
    return payloads.seal_payload(payload, keys).to_json()


def staff_message(
    deployment: Deployment,
    case: StudentCase,
    who: str,
    signing: SigningKey,
    text: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A reply (or, without text, a read receipt) signed by a recipient, for the case's thread."""
    kind: payloads.Kind = "reply" if text else "receipt"
    header = payloads.Header.new(kind, case.school, case.keys.case_id, now)
    signer = payloads.Signer(id=who, key=b"")
    draft: payloads.Reply | payloads.Receipt = (
        payloads.Reply(header, text, signer) if text else payloads.Receipt(header, signer)
    )
    signed = payloads.sign(draft, signing, who)
    keys = [*school_keys(deployment, case.school), bytes(case.keys.reply_key.public_key)]
    return payloads.seal_payload(signed, keys).to_json()


def staff_note(
    deployment: Deployment, case: StudentCase, who: str, signing: SigningKey
) -> dict[str, Any]:
    header = payloads.Header.new("note", case.school, case.keys.case_id)
    draft = payloads.Note(
        header, "in_progress", "", "Called the family.", payloads.Signer(who, b"")
    )
    signed = payloads.sign(draft, signing, who)
    return payloads.seal_payload(signed, school_keys(deployment, case.school)).to_json()


def post_conversation(
    site: Site,
    school: str,
    staff: str,
    report: str,
    reply: str,
    times: Sequence[datetime | None] = (None, None, None),
    code: str | None = None,
) -> StudentCase:
    """A case on the site's relay, as a student and a lead of the example leave it: the
    report, a read receipt and a reply signed by `staff` (whose keys are in site.var), each
    written at its time in `times` (now by default)."""
    identity = load_identity(site.var / "keys" / staff, DEMO_PASSPHRASE)
    case = new_case(site.deployment, school, report, "unsure", code=code, now=times[0])
    answer = httpx.post(
        site.relay.url + "/api/v1/cases", json=case.body, headers=proof(site.relay.url, school)
    )
    assert answer.status_code == 201, answer.text
    for text, when in (("", times[1]), (reply, times[2])):
        message = staff_message(site.deployment, case, staff, identity.signing_key, text, when)
        body = as_body(message)
        headers = signed_headers(identity.signing_key, reply_path(case), "POST", body)
        answer = httpx.post(site.relay.url + reply_path(case), content=body, headers=headers)
        assert answer.status_code == 201, answer.text
    return case


def messages_path(school: str, after: int = 0, limit: int | None = None) -> str:
    path = f"/api/v1/schools/{school}/messages?after={after}"
    return path + (f"&limit={limit}" if limit is not None else "")


def reply_path(case: StudentCase) -> str:
    return f"/api/v1/schools/{case.school}/cases/{case.case_id}/messages"


def signed_headers(
    key: SigningKey, path: str, method: str = "GET", body: bytes = b"", **kw: Any
) -> dict[str, str]:
    headers = sign_request(key, method, path, body, **kw)
    if body:
        headers["content-type"] = "application/json"
    return headers


def as_body(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def report_payload(
    school: str,
    case: protocol.CaseKeys,
    what: str = "test report",
    safe_now: str = "",
    now: datetime | None = None,
) -> payloads.Report:
    return payloads.Report(
        header=payloads.Header.new("report", school, case.case_id, now),
        lang="en",
        reply_pk=bytes(case.reply_key.public_key),
        answers=payloads.Answers(what=what, safe_now=safe_now, more=""),
    )


def training_record(
    school: str,
    name: str,
    modules: Sequence[tuple[str, str, str]],
    role: str = "Teacher",
    score: int = 3,
) -> payloads.Training:
    """A staff member's completion record: (module id, version, completed on) per module."""
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    return payloads.Training(
        header=payloads.Header.new("training", school, case.case_id),
        person=payloads.Person(name=name, role=role, school=school),
        modules=tuple(payloads.ModuleRecord(m, v, score, 4, d) for m, v, d in modules),
    )


def sealed_training(deployment: Deployment, record: payloads.Training) -> dict[str, Any]:
    """What the course's completion page posts: a new case whose code nobody keeps."""
    school = record.header.school
    throwaway = PrivateKey.generate()
    keys = [*school_keys(deployment, school), bytes(throwaway.public_key)]
    envelope = payloads.seal_payload(record, keys)
    return protocol.NewCase(record.header.case_id, bytes(32), envelope).to_json()


def _hostile_corpus() -> dict[str, bytes]:
    """Plaintexts an attacker can seal to any school: every class the key tool must survive."""
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    good = payloads.to_json(report_payload("lincoln-high", case, "hostile"))
    text = payloads.encode(good)
    answers = good["answers"]

    def variant(drop: str = "", **changes: Any) -> bytes:
        obj = {k: v for k, v in {**good, **changes}.items() if k != drop}
        return payloads.encode(obj)

    forged_reply = {k: v for k, v in good.items() if k not in ("lang", "reply_pk", "answers")}
    forged_reply |= {
        "kind": "reply",
        "text": "This case is closed.",
        "from": {"id": "dana-ortiz", "key": b64u_encode(bytes(32))},
        "sig": b64u_encode(bytes(64)),
    }
    return {
        "deep nesting": b'{"a":' * 5000 + b"1" + b"}" * 5000,
        "deep nesting in a field": variant(
            answers={**answers, "what": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}
        ),
        "huge number": b'{"v":' + b"9" * 5000 + b"}",
        "huge float": b'{"v":1e999}',
        "NaN": b'{"v":NaN}',
        "lone surrogate": text.replace(b'"hostile"', b'"\\ud800"'),
        "duplicate key": text[:-1] + b',"kind":"note"}',
        "not UTF-8": text.replace(b"hostile", b"host\xffile"),
        "not JSON": b"hello",
        "a list": b"[1,2,3]",
        "a string": b'"report"',
        "unknown kind": variant(kind="confession"),
        "unknown field": variant(extra="x"),
        "missing field": variant(drop="answers"),
        "wrong type": variant(answers={**answers, "what": 7}),
        "wrong version": variant(v=2),
        "boolean version": variant(v=True),
        "bad case id": variant(case_id="not base64!"),
        "bad sent time": variant(sent="yesterday"),
        "bad safe_now": variant(answers={**answers, "safe_now": "maybe"}),
        "oversize string": variant(answers={**answers, "what": "x" * (payloads.MAX_TEXT + 1)}),
        "forged staff reply": payloads.encode(forged_reply),
    }


HOSTILE_PAYLOADS = _hostile_corpus()


# --- the key tool ---------------------------------------------------------------

PASS = "a long enough test passphrase"


def run_keytool(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """The key tool's main, in this process: its exit code, standard output and error."""
    code = keytool_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def init_keytool(capsys: pytest.CaptureFixture[str], home: Path, who: str, name: str) -> None:
    code, out, _ = run_keytool(
        capsys, "--home", home, "init", "--id", who, "--name", name, "--school", "lincoln-high"
    )
    assert code == 0 and "[[recipients]]" in out


@dataclass
class Leads:
    """A real relay whose config names two key tools' keys, and the student side of it."""

    home: Path  # Dana Ortiz, Lincoln High's lead
    colleague: Path  # Marcus Lee, the district lead, who reads Lincoln High too
    relay: RelayProcess
    config: Path
    deployment: Deployment

    def post(self, what: str, school: str = "lincoln-high", safe_now: str = "") -> StudentCase:
        return self.open(new_case(self.deployment, school, what, safe_now))

    def open(self, case: StudentCase) -> StudentCase:
        answer = httpx.post(self.relay.url + "/api/v1/cases", json=case.body)
        assert answer.status_code == 201, answer.text
        return case

    def thread(self, case: StudentCase) -> list[payloads.Payload]:
        """What the student reads with their code: every message opened with the case key."""
        answer = httpx.get(self.relay.url + "/api/v1/case", headers=case.headers)
        assert answer.status_code == 200, answer.text
        return [
            payloads.open_payload(protocol.parse_envelope(m["envelope"]), case.keys.reply_key)
            for m in answer.json()["messages"]
        ]

    def restart(self, deployment: Deployment, name: str) -> None:
        """The relay again, on the same database, reading another config (written as name)."""
        self.config = self.config.with_name(name)
        self.config.write_text(dump_config(deployment), encoding="utf-8")
        self.deployment = load_config(self.config)
        stop_relay(self.relay)
        store = f"sqlite:///{self.relay.db_path}"
        self.relay = start_relay(self.config, store, self.relay.log_path.parent)

    def fetch(self, capsys: pytest.CaptureFixture[str], home: Path | None = None) -> str:
        code, out, err = run_keytool(
            capsys,
            "--home",
            home or self.home,
            "--config",
            self.config,
            "fetch",
            "--relay",
            self.relay.url,
        )
        assert code == 0, err
        return out


def with_keys_of(deployment: Deployment, homes: dict[str, Path]) -> Deployment:
    """The deployment with these key tools' public keys in place of the named recipients'."""
    keys = {who: json.loads((h / "identity.json").read_text()) for who, h in homes.items()}
    return dataclasses.replace(
        deployment,
        recipients=tuple(
            dataclasses.replace(
                r,
                x25519=b64u_decode(keys[r.id]["x25519"]),
                ed25519=b64u_decode(keys[r.id]["ed25519"]),
            )
            if r.id in keys
            else r
            for r in deployment.recipients
        ),
    )


def listed_cases(capsys: pytest.CaptureFixture[str], home: Path) -> list[dict[str, Any]]:
    code, out, err = run_keytool(capsys, "--home", home, "list", "--json")
    assert code == 0, err
    cases: list[dict[str, Any]] = json.loads(out)["cases"]
    return cases


def case_ref(capsys: pytest.CaptureFixture[str], home: Path, case: StudentCase) -> str:
    return next(c["id"] for c in listed_cases(capsys, home) if c["case_id"] == case.case_id)


# --- proof of work --------------------------------------------------------------


def proof(relay_url: str, school: str) -> dict[str, str]:
    """A challenge from the relay, solved: the X-QD-Proof header a page would send."""
    answer = httpx.get(relay_url + f"/api/v1/challenge?school={school}")
    assert answer.status_code == 200, answer.text
    return {"x-qd-proof": solve_proof(answer.json())}


def solve_proof(challenge: dict[str, Any]) -> str:
    """The X-QD-Proof header for a challenge, solved as a client would (the altcha library)."""
    import base64

    from altcha import v2 as altcha

    solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
    assert solution is not None
    payload = {
        "challenge": challenge,
        "solution": {"counter": solution.counter, "derivedKey": solution.derived_key},
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def pdf_text(path: Path) -> str:
    """A PDF's text layer, as pdftotext reads it."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def decoded(path: Path, tmp: Path) -> list[str]:
    """The text of every QR code on a PDF's page, rasterised at 150 dpi as a printer would."""
    prefix = tmp / path.stem
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(prefix)], check=True
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        return [b.text for b in zxingcpp.read_barcodes(image)]


def open_at_once(store_url: str, relays: int) -> list[SQLStore]:
    """Open the store from several threads released together, as relays starting at once."""
    barrier = threading.Barrier(relays)
    stores: list[SQLStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            s = open_store(store_url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        else:
            stores.append(s)

    threads = [threading.Thread(target=start) for _ in range(relays)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for s in stores:
            s.close()
        raise errors[0]
    return stores


def open_files() -> list[str]:
    """The paths of the files this process has open (Linux: /proc/self/fd)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
    return paths
