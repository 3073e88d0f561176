"""How fast the student pages are on one bar of signal, beside a bare page with one text box.

    python bench/page_weight.py [--runs N]

Builds the example deployment in every language, serves it with the real relay (``python -m relay
--static``), and opens each page in Chromium in a fresh context with the cache
disabled, throttled through the DevTools protocol
(``Network.emulateNetworkConditions``: 400 ms latency, 51,200 bytes/s down and
up). For each page it prints the medians of N runs (default 5):

- ``paint``: first contentful paint;
- ``box``: the text box (the case page's code box) is on screen and can be typed in;
- ``crypto``: the page's crypto libraries have run (``nacl``, ``blakejs`` and the
  envelope code are defined);
- ``bytes``: bytes on the wire, and ``requests``: how many;
- ``page gz``: the page alone, as the build's gzip copy (what arrives first).

The bare page (``bare/index.html``, one text box and nothing else) is written
into the same build and served by the same relay, so the ratios compare like
with like. Targets: box within 1.0 s, crypto within 1.5 s (issue 6); box within 1.3 times the
bare page's, in every language (issue 25). The load average, printed at the start and the end,
says how busy the machine was: Chromium's work is not throttled, only its network.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from bench.processes import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, relay  # noqa: E402
from builder.site import build_site  # noqa: E402
from quietdoor.config import dump_config, load_config  # noqa: E402
from quietdoor.languages import SUPPORTED_LANGUAGES  # noqa: E402

EXAMPLE = ROOT / "examples" / "demo.toml"

LATENCY_MS = 400
BYTES_PER_SECOND = 51_200
BARE_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<title>Bare</title><label for="what">What is happening?</label>'
    '<textarea id="what"></textarea></html>\n'
)

LANDING = "s/lincoln-high/index.html"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": lambda data: gzip.compress(data, 9, mtime=0),
    ".br": lambda data: bytes(importlib.import_module("brotli").compress(data)),
}

# Runs before the page's own scripts: marks when the box can be typed in and when the
# crypto has run, at the animation frame where each first holds.
PROBE = """
(() => {
  const marks = {};
  window.__qdMarks = marks;
  function ready(box) {
    if (!box || box.disabled || box.readOnly || !box.checkVisibility()) return false;
    const r = box.getBoundingClientRect();
    return r.height > 0 && r.top < innerHeight;
  }
  function tick() {
    const now = performance.now();
    if (marks.box === undefined && ready(document.getElementById(BOX_ID))) marks.box = now;
    if (marks.crypto === undefined && window.nacl && window.blakejs && window.QuietDoorEnvelope) {
      marks.crypto = now;
    }
    if (marks.box === undefined || (NEEDS_CRYPTO && marks.crypto === undefined)) {
      requestAnimationFrame(tick);
    }
  }
  requestAnimationFrame(tick);
})();
"""


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    box: str
    crypto: bool


@dataclass(frozen=True)
class Run:
    paint: float
    box: float
    crypto: float | None
    wire: int
    requests: int


def build(tmp: Path, port: int) -> tuple[Path, Path]:
    """The example deployment in every language (no signs) built for a relay on this port,
    plus the bare page."""
    url = f"http://127.0.0.1:{port}"
    deployment = dataclasses.replace(
        load_config(EXAMPLE),
        base_url=url,
        relay_url=url,
        languages=SUPPORTED_LANGUAGES,
        allow_draft_languages=True,
        placements=(),
    )
    config = tmp / "bench.toml"
    config.write_text(dump_config(deployment), encoding="utf-8")
    dist = tmp / "dist"
    build_site(deployment, dist)
    bare = dist / "bare" / "index.html"
    bare.parent.mkdir()
    bare.write_text(BARE_PAGE, encoding="utf-8")
    # Served the same way: when the build precompresses its pages, the bare page is too.
    for suffix, compress in COMPRESSORS.items():
        if (dist / f"{LANDING}{suffix}").is_file():
            bare.with_name(f"index.html{suffix}").write_bytes(compress(BARE_PAGE.encode()))
    return config, dist


def measure(browser: Browser, url: str, target: Target) -> Run:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": BYTES_PER_SECOND,
            "uploadThroughput": BYTES_PER_SECOND,
        },
    )
    wire: list[int] = []
    cdp.on("Network.loadingFinished", lambda e: wire.append(int(e["encodedDataLength"])))
    probe = PROBE.replace("BOX_ID", repr(target.box)).replace(
        "NEEDS_CRYPTO", "true" if target.crypto else "false"
    )
    page.add_init_script(probe)
    try:
        page.goto(url + target.path, wait_until="commit")
        # Polled from here: the page's policy forbids what wait_for_function compiles.
        done = "m.crypto !== undefined" if target.crypto else "true"
        check = f"(m => !!m && m.box !== undefined && {done})(window.__qdMarks)"
        deadline = time.monotonic() + 60
        while not page.evaluate(check):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.label}: the page never got ready")
            page.wait_for_timeout(50)
        page.wait_for_load_state("load")
        marks: dict[str, Any] = page.evaluate("window.__qdMarks")
        paint = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
        )
    finally:
        context.close()
    return Run(
        paint=float(paint) / 1000,
        box=float(marks["box"]) / 1000,
        crypto=float(marks["crypto"]) / 1000 if target.crypto else None,
        wire=sum(wire),
        requests=len(wire),
    )


def median_run(runs: list[Run]) -> Run:
    crypto = [r.crypto for r in runs if r.crypto is not None]
    return Run(
        paint=statistics.median(r.paint for r in runs),
        box=statistics.median(r.box for r in runs),
        crypto=statistics.median(crypto) if crypto else None,
        wire=int(statistics.median(r.wire for r in runs)),
        requests=int(statistics.median(r.requests for r in runs)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per page (default 5)")
    args = parser.parse_args()
    folders = {lang: "" if lang == "en" else f"{lang}/" for lang in SUPPORTED_LANGUAGES}
    targets = [
        Target("bare page", "/bare/", "what", crypto=False),
        *(
            Target(f"landing ({lang})", f"/s/lincoln-high/{folder}", "what", crypto=True)
            for lang, folder in folders.items()
        ),
        *(
            Target(f"case page ({lang})", f"/s/lincoln-high/{folder}case/", "code", crypto=True)
            for lang, folder in folders.items()
        ),
    ]
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        port = free_port()
        config, dist = build(tmp, port)
        page_gz = {
            t.label: (dist / t.path.strip("/") / "index.html.gz").stat().st_size
            for t in targets
            if (dist / t.path.strip("/") / "index.html.gz").is_file()
        }
        store = f"sqlite:///{tmp / 'relay.db'}"
        with relay(config, store, tmp / "relay.log", port, dist) as url:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                # Interleaved, so that a busy moment on the machine touches every page alike.
                runs: dict[str, list[Run]] = {t.label: [] for t in targets}
                for n in range(1, args.runs + 1):
                    print(f"run {n} of {args.runs}", file=sys.stderr)
                    for t in targets:
                        runs[t.label].append(measure(browser, url, t))
                browser.close()
                results = {label: median_run(r) for label, r in runs.items()}
        compressed = [suffix for suffix in COMPRESSORS if (dist / f"{LANDING}{suffix}").is_file()]

    print(
        f"Chromium, {LATENCY_MS} ms latency, {BYTES_PER_SECOND:,} bytes/s down and up, "
        f"cache off, fresh context; median of {args.runs} runs; "
        f"precompressed copies in the build: {' '.join(compressed) or 'none'}; load average "
        f"(1 min) {load_at_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"{'page':<20}{'page gz':>8}{'paint':>8}{'box':>8}{'box/bare':>9}{'crypto':>8}"
        f"{'bytes':>9}{'requests':>10}"
    )
    bare = results["bare page"]
    for label, r in results.items():
        crypto = f"{r.crypto:.2f}" if r.crypto is not None else "-"
        gz = f"{page_gz[label]:,}" if label in page_gz else "-"
        print(
            f"{label:<20}{gz:>8}{r.paint:>8.2f}{r.box:>8.2f}{r.box / bare.box:>9.2f}{crypto:>8}"
            f"{r.wire:>9,}{r.requests:>10}"
        )
    print("targets: box 1.00 s and within 1.3x the bare page's, crypto 1.50 s")


if __name__ == "__main__":
    main()
