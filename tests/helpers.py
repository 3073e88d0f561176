"""Test helpers: deployments with fresh keys, a real relay process, envelopes, signed requests.

Fixtures live in conftest.py and use these; tests import from here, never from conftest.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from quietdoor import protocol
from quietdoor.config import Deployment, dump_config, load_config
from quietdoor.signing import sign_request

ROOT = Path(__file__).resolve().parent.parent
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


def make_deployment(tmp: Path, base_url: str | None = None, **changes: object) -> KeyedDeployment:
    """The example deployment with fresh keys for every recipient, written to tmp."""
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
    config: Path, store: str, tmp: Path, static: Path | None = None, port: int | None = None
) -> RelayProcess:
    """Start `python -m relay` on a free loopback port and wait until it is serving.

    Readiness is read from the relay's own log, not by polling the port, so a
    test can never mistake another process on a reused port for its relay; a
    lost race for a free port is retried on another one.
    """
    for _attempt in range(3):
        relay = _spawn_relay(config, store, tmp, static, port or free_port())
        if relay is not None:
            return relay
        if port is not None:
            break
    raise RuntimeError("the relay did not start; see the relay-*.log files in " + str(tmp))


def _spawn_relay(
    config: Path, store: str, tmp: Path, static: Path | None, port: int
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
class Site:
    deployment: Deployment
    dist: Path
    var: Path
    relay: RelayProcess


def report(deployment: Deployment, school: str, what: str = "test report") -> dict[str, Any]:
    case = protocol.CaseKeys.derive(protocol.new_case_code())
    payload = {
        "type": "report",
        "lang": "en",
        "written": "2026-11-28T10:00Z",
        "reply_pk": "",
        "answers": {"what": what, "safe_now": "", "more": ""},
    }
    recipients = [r.x25519 for r in deployment.recipients_for(school)]
    return protocol.seal(school, payload, recipients, case).to_json()


def inbox_path(school: str, after: int = 0, limit: int | None = None) -> str:
    path = f"/api/v1/schools/{school}/envelopes?after={after}"
    return path + (f"&limit={limit}" if limit is not None else "")


def signed_headers(key: SigningKey, path: str, **kw: Any) -> dict[str, str]:
    return sign_request(key, "GET", path, **kw)
