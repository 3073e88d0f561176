"""Fixtures: deployments with fresh keys, stores on SQLite and PostgreSQL, a browser, a site,
the course rendered once per source."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import nacl.pwhash
import psycopg
import pytest
from hypothesis import settings
from playwright.sync_api import Browser, sync_playwright

from builder import training
from keytool import identity
from relay.store import SQLStore
from relay.stores import open_store

from .support.browser import CHROMIUM, CHROMIUM_ARGS
from .support.course import RenderedCourses
from .support.deployments import KeyedDeployment, make_deployment
from .support.keytool import PASS, Leads, init_keytool, start_leads
from .support.processes import stop_relay
from .support.site import Site, serve_example
from .support.stores import POSTGRES

# Workers share the cores, so one example's time says nothing: no per-example deadline.
settings.register_profile("workers", deadline=None)
settings.load_profile("workers")


@pytest.fixture
def deployment(tmp_path: Path) -> KeyedDeployment:
    return make_deployment(tmp_path)


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


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    """The relay's store on SQLite and on PostgreSQL, opened (migrated) and closed after."""
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, never a downloaded browser."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example deployment built and served by a real relay, with keys for every lead."""
    served = serve_example(tmp_path_factory.mktemp("e2e"))
    try:
        yield served
    finally:
        stop_relay(served.relay)


@pytest.fixture
def keytool_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIETDOOR_PASSPHRASE", PASS)


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str], keytool_passphrase: None) -> Path:
    """A key-tool home with fresh keys for Dana Ortiz, Lincoln High's lead."""
    h = tmp_path / "dana"
    init_keytool(capsys, h, "dana-ortiz", "Dana Ortiz")
    return h


@pytest.fixture
def leads(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Leads]:
    """A relay on SQLite whose config names the key tools' freshly made keys for Dana and
    Marcus."""
    leads = start_leads(capsys, home, tmp_path, f"sqlite:///{tmp_path / 'relay.db'}")
    try:
        yield leads
    finally:
        stop_relay(leads.relay)  # a test may have restarted it


@pytest.fixture
def leads_on(
    home: Path, tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> Iterator[Leads]:
    """Dana and Marcus's key tools, and a relay on each store."""
    leads = start_leads(capsys, home, tmp_path, store_url)
    try:
        yield leads
    finally:
        stop_relay(leads.relay)


@pytest.fixture(scope="session")
def rendered_courses(tmp_path_factory: pytest.TempPathFactory) -> RenderedCourses:
    return RenderedCourses(tmp_path_factory.mktemp("courses"))


@pytest.fixture(autouse=True)
def shared_course(rendered_courses: RenderedCourses, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds in this process render each course source once a session (see support.course);
    a test that calls build_training itself, and the CLIs in their own processes, run mkdocs."""
    monkeypatch.setattr(training, "build_training", rendered_courses.build_training)


@pytest.fixture(autouse=True)
def quick_passphrase_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identities made in this process hash the passphrase at Argon2id's least cost, not
    MODERATE's (about 1.2 s and 256 MiB each time). Unlocking takes the cost from the file,
    so every later unlock of such an identity is quick too, here or in a key tool process;
    test_keytool checks that a key tool in its own process still writes MODERATE."""
    monkeypatch.setattr(identity, "OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(identity, "MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)
