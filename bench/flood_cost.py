"""What filling a school's storage budget costs a flooder, in core-hours.

    python bench/flood_cost.py [--solves 10]

One core of this machine solves the relay's challenges with ALTCHA's Python
solver (the `altcha` library, as a flooder's script would): the time a try takes
comes from a few normal challenges, and a busy challenge costs on average half
its tries (the relay picks the counter uniformly below them). Past a school's
normal volume every message needs a busy proof, so reaching
`[relay] school_budget_bytes` takes budget / envelope size busy proofs. The
flooder's cheapest envelope is the largest the relay takes (the 64 KiB bucket);
the 1 KiB bucket, where a genuine report lands, is shown beside it. The relay's
other limits (per-address, one proof per message) are left out: a flooder with
many addresses meets only the proof of work and the budget. Also printed: what a
patient flooder who stays below the normal volume (so never busy) can store before
retention deletes it, and an estimate for one gaming graphics card (not measured:
this machine has none; see GPU_ITERATIONS). Runs in well under a minute.
"""

from __future__ import annotations

import argparse
import platform
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from altcha import v2 as altcha  # noqa: E402
from nacl.public import PrivateKey  # noqa: E402

from quietdoor import protocol  # noqa: E402
from quietdoor.config import RelayLimits  # noqa: E402
from relay.proof import BUSY_FACTOR, COST, Proofs  # noqa: E402

RECIPIENTS = 3  # two staff recipients and the case's own key, as the example's schools
# PBKDF2-HMAC-SHA-256 iterations a second on one NVIDIA RTX 4090, an estimate: tobtu.com's
# "Minimum password settings" (updated 2022-12-29, read 2026-12-06) sets 600,000
# iterations for under 10 kH/s per GPU and counts an RTX 4090 as 1.5 GPUs.
GPU_ITERATIONS = 600_000 * 10_000 * 1.5


def envelope_bytes(payload_bytes: int) -> int:
    """The stored size of an envelope holding a payload this long (its bucket decides)."""
    keys = [bytes(PrivateKey.generate().public_key) for _ in range(RECIPIENTS)]
    return len(protocol.seal("lincoln-high", b"x" * payload_bytes, keys).canonical())


def seconds_a_try(solves: int, tries: int) -> float:
    """One core's time for a try, from solving normal challenges with the Python solver."""
    proofs = Proofs(secrets.token_bytes(32))
    spent, done = 0.0, 0
    for _ in range(solves):
        challenge = altcha.Challenge.from_dict(proofs.challenge("lincoln-high", tries, False))
        started = time.process_time()
        solution = altcha.solve_challenge(challenge)
        spent += time.process_time() - started
        assert solution is not None  # noqa: S101 - the relay's own challenge has one
        done += solution.counter + 1
    return spent / done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--solves", type=int, default=10, help="normal challenges to time")
    args = parser.parse_args()
    limits = RelayLimits()
    per_try = seconds_a_try(args.solves, limits.proof_of_work_tries)
    busy_tries = limits.proof_of_work_tries * BUSY_FACTOR
    per_message = per_try * (busy_tries + 1) / 2
    budget = limits.school_budget_bytes
    print(f"{datetime.now(UTC):%Y-%m-%d}, {platform.processor() or platform.machine()}, one core")
    print(f"a try: {per_try * 1000:.3f} ms; a busy proof ({busy_tries} tries at most): ", end="")
    print(f"{per_message:.1f} core-seconds on average")
    print(f"budget: {budget} bytes ({budget / 2**20:.0f} MiB)")
    for label, payload in (("largest (64 KiB bucket)", 60_000), ("smallest (1 KiB bucket)", 10)):
        size = envelope_bytes(payload)
        messages = -(-budget // size)
        hours = messages * per_message / 3600
        gpu = messages * (busy_tries + 1) / 2 * COST / GPU_ITERATIONS / 60
        print(
            f"{label}: {size} bytes an envelope, {messages} messages, {hours:.1f} core-hours "
            f"(one RTX 4090, estimated: {gpu:.1f} minutes)"
        )
    largest = envelope_bytes(60_000)
    patient = limits.normal_daily_per_school * largest * limits.retention_days
    print(
        f"below normal volume ({limits.normal_daily_per_school} a day, never busy) for "
        f"{limits.retention_days} days: {patient / 2**20:.0f} MiB at most"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
