"""Schemathesis against the relay's own description: no 5xx, no answer that breaks it.

A live relay (uvicorn in its own process) on each store is fuzzed with the
schemathesis command line, every operation: the description's examples, then
examples drawn from it (its coverage phase trips a bug of this Python's ast
module inside Hypothesis). The relay answers wrong case codes slowly once a
hundred have come in ten minutes (relay/throttle.py); the run stays below that.

Two of schemathesis's checks are left out, for what the description cannot
say: `positive_data_acceptance` (an envelope that fits the description is still
refused when it is not sealed to the school's recipients, 422, or comes without
a proof of work, 428) and `missing_required_header` (a case endpoint answers
404 for every way a case code is wrong, a missing header included, so that the
answer says nothing about which part was wrong).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .support.deployments import lenient_limits, make_deployment
from .support.paths import ROOT
from .support.processes import start_relay, stop_relay

CONFIG = ROOT / "tests" / "data" / "schemathesis.toml"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance,negative_data_rejection,"
    "unsupported_method,ignored_auth"
)


def test_schemathesis_finds_nothing_against_a_live_relay(store_url: str, tmp_path: Path) -> None:
    td = make_deployment(tmp_path, relay=lenient_limits(proof_of_work=True))
    relay = start_relay(td.path, store_url, tmp_path)
    try:
        command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG)]
        command += ["run", relay.url + "/api/openapi.json", "--checks", CHECKS]
        command += ["--phases", "examples,fuzzing", "--max-examples", "15", "--workers", "1"]
        command += ["--seed", "8", "--generation-database", "none"]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
    finally:
        stop_relay(relay)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "generated" in result.stdout and " 0 generated" not in result.stdout
