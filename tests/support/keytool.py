"""The key tool: run in this process or as a lead runs it, and two leads with a relay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from demo.prepare import PASSPHRASE as DEMO_PASSPHRASE
from keytool.cli import main as keytool_main
from quietdoor import payloads, protocol
from quietdoor.config import Deployment, dump_config, load_config

from .deployments import make_deployment, with_keys_of
from .envelopes import StudentCase, new_case
from .paths import ROOT
from .processes import RelayProcess, start_relay, stop_relay
from .site import Site

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

    def post(
        self, what: str, school: str = "lincoln-high", safe_now: str = "", lang: str = "en"
    ) -> StudentCase:
        return self.open(new_case(self.deployment, school, what, safe_now, lang=lang))

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
        self.relay = start_relay(self.config, self.relay.store, self.relay.log_path.parent)

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


def listed_cases(capsys: pytest.CaptureFixture[str], home: Path) -> list[dict[str, Any]]:
    code, out, err = run_keytool(capsys, "--home", home, "list", "--json")
    assert code == 0, err
    cases: list[dict[str, Any]] = json.loads(out)["cases"]
    return cases


def case_ref(capsys: pytest.CaptureFixture[str], home: Path, case: StudentCase) -> str:
    return next(c["id"] for c in listed_cases(capsys, home) if c["case_id"] == case.case_id)


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


def start_leads(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, store_url: str
) -> Leads:
    """Dana (home) and Marcus, a fresh key tool in tmp_path, and a relay on store_url whose
    config names both key tools' keys."""
    colleague = tmp_path / "marcus"
    init_keytool(capsys, colleague, "marcus-lee", "Marcus Lee")
    deployment = with_keys_of(
        make_deployment(tmp_path).deployment, {"dana-ortiz": home, "marcus-lee": colleague}
    )
    path = tmp_path / "with-leads.toml"
    path.write_text(dump_config(deployment))
    return Leads(home, colleague, start_relay(path, store_url, tmp_path), path, load_config(path))
