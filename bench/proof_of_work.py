"""How long a student's phone works on the relay's proof of work.

    python bench/proof_of_work.py [--runs 20] [--busy-factor N] [--throttle 1 4]

Debian's Chromium solves challenges made by the relay's own code (relay/proof.py)
with the page's solver (site/js/proof.js), with the CPU unthrottled and throttled
4x (DevTools' emulation of a low-end phone), at the normal number of tries and at
the busy level (relay.proof.BUSY_FACTOR times as many; --busy-factor tries
another, as when choosing it). The page starts solving when
the student starts typing, so this is the most a student waits on top of
sending; what it prints is per challenge: median, 95th percentile and the worst.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import secrets
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.processes import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from quietdoor.config import RelayLimits  # noqa: E402
from relay.proof import BUSY_FACTOR, COST, Proofs  # noqa: E402

SOLVE = """async ([challenges]) => {
  const times = [];
  for (const c of challenges) {
    const started = performance.now();
    await QuietDoorProof.solve(c);
    times.push((performance.now() - started) / 1000);
  }
  return times;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the API's name
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="challenges per level")
    parser.add_argument("--busy-factor", type=int, default=BUSY_FACTOR, help="busy / normal tries")
    parser.add_argument("--throttle", type=int, nargs="+", default=[1, 4], help="CPU slowdowns")
    args = parser.parse_args()
    base = RelayLimits().proof_of_work_tries
    proofs = Proofs(secrets.token_bytes(32))
    handler = functools.partial(_Quiet, directory=str(ROOT / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Proof of work: PBKDF2-SHA-256, {COST} iterations a try; normal = {base} tries at most")
    print(f"{'CPU':<12}{'tries':>8}{'median s':>10}{'p95 s':>8}{'worst s':>9}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for throttle in args.throttle:
            page = browser.new_page()
            cdp = page.context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            page.goto(f"http://127.0.0.1:{server.server_port}/js/proof.js")
            page.add_script_tag(path=str(ROOT / "site" / "js" / "proof.js"))
            for factor in (1, args.busy_factor):
                tries = base * factor
                challenges = [
                    proofs.challenge("lincoln-high", tries, False) for _ in range(args.runs)
                ]
                times = sorted(page.evaluate(SOLVE, [challenges]))
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                label = "unthrottled" if throttle == 1 else f"{throttle}x slower"
                print(
                    f"{label:<12}{tries:>8}{statistics.median(times):>10.2f}{p95:>8.2f}"
                    f"{times[-1]:>9.2f}"
                )
            page.close()
        browser.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
