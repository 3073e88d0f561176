"""Shared fixtures: deployments with fresh keys, stores on SQLite and PostgreSQL, a real relay."""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from playwright.sync_api import Browser, sync_playwright

from quietdoor.builder import build_site
from quietdoor.config import Deployment, dump_config, load_config
from quietdoor.demo import prepare

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


@pytest.fixture
def deployment(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    schema = "qd_test_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in POSTGRES else "?"
        yield f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relay.db'}"
    return str(request.getfixturevalue("postgres_url"))


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, never a downloaded browser."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Site:
    deployment: Deployment
    dist: Path
    var: Path
    relay: RelayProcess


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example deployment built and served by a real relay, with keys for every lead."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    config, deployment = prepare(EXAMPLE, tmp / "var", port)
    build_site(deployment, tmp / "dist")
    relay = start_relay(
        config, f"sqlite:///{tmp / 'relay.db'}", tmp, static=tmp / "dist", port=port
    )
    try:
        yield Site(deployment=deployment, dist=tmp / "dist", var=tmp / "var", relay=relay)
    finally:
        stop_relay(relay)
