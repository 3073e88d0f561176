"""A lead's laptop has no checkout: the wheel installs the key tool, the desk and the relay.

The wheel is built from a copy of the project's files and installed into a fresh
venv outside the checkout, from a wheelhouse packed from this venv's own
installed distributions (tests/support/wheelhouse.py): nothing is downloaded.
Slow: most of it installing the wheels of the key tool's and the relay's libraries.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from .support.deployments import make_deployment
from .support.keytool import PASS
from .support.paths import ROOT
from .support.processes import start_relay, stop_relay, wait_until
from .support.wheelhouse import needed, repack

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = sorted({p.split(".")[0] for p in PYPROJECT["tool"]["setuptools"]["packages"]})
LINK = re.compile(r"http://127\.[0-9.]+:[0-9]+/open\?key=\S+")


@dataclass(frozen=True)
class Laptop:
    """A fresh venv with only the wheel installed, and how to run what it installed."""

    wheel: Path
    bin: Path
    env: dict[str, str]
    tmp: Path

    def run(self, *args: str | Path, cwd: Path | None = None) -> str:
        return run([self.bin / str(args[0]), *args[1:]], self.env, cwd or self.tmp)


def run(args: list[str | Path], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def laptop(tmp_path: Path) -> Laptop:
    # No pip config and no index (only --find-links); nothing of the checkout on the path.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env |= {"PIP_CONFIG_FILE": os.devnull, "HOME": str(tmp_path), "QUIETDOOR_PASSPHRASE": PASS}
    source, house = tmp_path / "source", tmp_path / "wheelhouse"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    house.mkdir()
    for dist in needed(
        [*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"]]
    ):
        repack(dist, house)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    offline = ["--no-index", "--find-links", house]
    run([*pip, "wheel", ".", "--no-deps", *offline, "-w", tmp_path], env, source)
    (wheel,) = tmp_path.glob("quiet_door-*.whl")
    # This venv's pip installs into the new one (--python): ensurepip alone takes 12 s here.
    venv.create(tmp_path / "venv")
    target = ["--python", tmp_path / "venv/bin/python"]
    run([*pip, *target, "install", "-q", "--no-compile", *offline, wheel], env, tmp_path)
    return Laptop(wheel, tmp_path / "venv/bin", env, tmp_path)


def assert_the_wheel_holds_every_file_of_the_packages(wheel: Path) -> None:
    """Templates, the desk's static files, py.typed: package data, not only modules."""
    listed = subprocess.run(
        ["git", "ls-files", *PACKAGES], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert any(p.endswith(".j2") for p in listed) and "keytool/desk/static/desk.css" in listed
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert [p for p in listed if p not in in_wheel] == []


def test_the_wheel_installs_offline_and_runs_without_a_checkout(laptop: Laptop) -> None:
    """One test, so that parallel workers never build the venv twice."""
    assert_the_wheel_holds_every_file_of_the_packages(laptop.wheel)
    imported = laptop.run(
        "python", "-c", "import keytool, relay; print(keytool.__file__, relay.__file__)"
    )
    assert all(Path(p).is_relative_to(laptop.bin.parent) for p in imported.split())
    assert_the_builder_asks_for_its_libraries(laptop)

    config = make_deployment(laptop.tmp).path
    relay = start_relay(
        config,
        f"sqlite:///{laptop.tmp / 'relay.db'}",
        laptop.tmp,
        command=[str(laptop.bin / "quietdoor-relay")],
        env=laptop.env,
    )
    try:
        assert httpx.get(relay.url + "/healthz").status_code == 200
        home = laptop.tmp / "dana"
        out = laptop.run(
            "quietdoor-keytool", "--home", home, "init", "--id", "dana-ortiz",
            "--name", "Dana Ortiz", "--school", "lincoln-high", "--relay", relay.url,
        )  # fmt: skip
        assert "[[recipients]]" in out
        assert_desk_serves(laptop, home, config)
    finally:
        stop_relay(relay)


def assert_the_builder_asks_for_its_libraries(laptop: Laptop) -> None:
    """The laptop has no `build` extra: the builder's scripts say what to install, in one line."""
    for script in ("quietdoor-build", "quietdoor-monitor"):
        done = subprocess.run(
            [laptop.bin / script], capture_output=True, text=True, env=laptop.env, cwd=laptop.tmp
        )
        assert done.returncode == 2, done.stderr
        assert "pip install 'quiet-door[build]'" in done.stderr and "Traceback" not in done.stderr


def assert_desk_serves(laptop: Laptop, home: Path, config: Path) -> None:
    """The desk's unlock page and its stylesheet: its templates and static files are there."""
    printed = laptop.tmp / "desk.out"
    with printed.open("wb") as out:
        desk = subprocess.Popen(
            [laptop.bin / "quietdoor-keytool", "--home", home, "--config", config, "desk"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=laptop.env,
            cwd=laptop.tmp,
        )
    try:
        wait_until(lambda: LINK.search(printed.read_text()), 30, printed.read_text)
        link = LINK.search(printed.read_text())
        assert link is not None
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(link.group(0))
            assert page.status_code == 200 and "<h1>Unlock your keys</h1>" in page.text
            style = browser.get(str(page.url.join("/static/desk.css")))
            assert style.status_code == 200 and "color" in style.text
    finally:
        desk.send_signal(signal.SIGINT)
        assert desk.wait(timeout=10) == 0, printed.read_text()
