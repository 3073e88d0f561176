"""The monitor against a real relay serving a build: changed, missing and extra files."""

from __future__ import annotations

import dataclasses
import gzip
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.site import build_site
from quietdoor.config import load_config

from .support.deployments import make_deployment
from .support.paths import ROOT
from .support.processes import RelayProcess, free_port, start_relay, stop_relay


@dataclass
class Served:
    dist: Path
    relay: RelayProcess
    url: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keyed = make_deployment(tmp_path, base_url=url)
    dist = tmp_path / "dist"
    build_site(keyed.deployment, dist)
    relay = start_relay(keyed.path, f"sqlite:///{tmp_path / 'relay.db'}", tmp_path, dist, port)
    try:
        yield Served(dist=dist, relay=relay, url=url)
    finally:
        stop_relay(relay)


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "builder.monitor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_live_site_that_matches_its_build_is_ok(served: Served) -> None:
    result = monitor("--manifest", str(served.dist / "manifest.json"), "--root", str(served.dist))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")
    assert "3 QR targets match the build; the relay answers" in result.stdout
    quiet = monitor("--manifest", str(served.dist / "manifest.json"), "--quiet")
    assert (quiet.returncode, quiet.stdout) == (0, "")


def test_changed_missing_and_extra_files_are_named(served: Served) -> None:
    dist = served.dist
    # Read the manifest before the damage: it is the build the site should match.
    saved = dist.parent / "manifest.json"
    shutil.copy(dist / "manifest.json", saved)
    with (dist / "s/lincoln-high/es/index.html").open("a") as page:
        page.write("<!-- changed on the server -->")
    (dist / "s/riverside-middle/qr.png").unlink()
    (dist / "s/lincoln-high/extra.html").write_text("<p>not ours</p>")
    (dist / "assets/landing.css.gz").write_bytes(gzip.compress(b"body{}"))
    result = monitor("--manifest", str(saved), "--root", str(dist))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "changed: assets/landing.css.gz (does not match assets/landing.css)",
        "changed: s/lincoln-high/es/index.html (SHA-256 differs)",
        f"extra: s/lincoln-high/extra.html (in {dist}, not part of the build)",
        "missing: s/riverside-middle/qr.png (HTTP 404)",
        summary("4 problems: 2 changed, 1 extra, 1 missing", result.stdout),
    ]
    default_page = dist / "s/cedar-valley-high/index.html"
    default_page.write_text("<p>someone else's form</p>")
    result = monitor("--manifest", str(saved))
    assert (
        f"qr: {served.url}/s/cedar-valley-high/ (answers, but not with the school's landing page)"
        in result.stdout.splitlines()
    )


def test_retired_files_still_served_are_extra(served: Served, tmp_path: Path) -> None:
    dist = served.dist
    kept = tmp_path / "kept.html"
    shutil.copy(dist / "s/cedar-valley-high/index.html", kept)
    # A newer build without Cedar Valley High; the host kept one of its old pages.
    d = load_config(tmp_path / "deployment.toml")
    fewer = dataclasses.replace(
        d,
        schools=d.schools[:2],
        districts=d.districts[:1],
        recipients=tuple(r for r in d.recipients if "cedar-valley" not in r.districts),
        placements=tuple(p for p in d.placements if p.school != "cedar-valley-high"),
    )
    build_site(fewer, dist)
    (dist / "s/cedar-valley-high").mkdir()
    shutil.copy(kept, dist / "s/cedar-valley-high/index.html")
    result = monitor("--manifest", str(dist / "manifest.json"))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "extra: s/cedar-valley-high/index.html (still served, but no longer part of the build)",
        summary("1 problem: 1 extra", result.stdout),
    ]


def summary(start: str, stdout: str) -> str:
    """The summary line as printed, when it starts as expected (the request count varies)."""
    last = stdout.splitlines()[-1]
    assert re.fullmatch(re.escape(start) + r" \(\d+ requests\)", last), last
    return last


def test_a_relay_that_does_not_answer_is_named(served: Served) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}"
    result = monitor("--manifest", str(served.dist / "manifest.json"), "--relay", elsewhere)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"relay: {elsewhere} (no answer: ConnectionRefusedError)",
        summary("1 problem: 1 relay", result.stdout),
    ]


def test_a_host_no_request_reaches_is_one_line_and_exit_2(served: Served) -> None:
    """Not a line per file (twice for text files) for cron to mail: one line, as documented."""
    stop_relay(served.relay)  # it served the site too
    result = monitor("--manifest", str(served.dist / "manifest.json"), "--jobs", "2")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"monitor: {served.url}: no request reached the host (ConnectionRefusedError); "
        "nothing checked"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--manifest", "nowhere.json"], "monitor: nowhere.json: cannot read the manifest"),
        (["--manifest", "README.md"], "monitor: README.md: not a manifest"),
    ],
)
def test_cannot_run_gives_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = monitor(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1
