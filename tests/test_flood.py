"""A flood from one address cannot keep a genuine report from Chromium from landing.

One address (127.0.0.2) posts valid envelopes as fast as it can, solving every
challenge it gets; meanwhile a student on another address opens the school's page
in Chromium, writes, and sends within 30 seconds. The flood stops once the report has
landed and the relay has held the flood back (at most 120 seconds: with parallel
workers on two cores, 200 answers can take longer than 30). The relay runs with its
production friction: proof of work and per-address limits at their defaults.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from threading import Event

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser

from builder.assets import build_assets
from builder.landing import landing_paths, render_landing
from quietdoor import payloads, protocol
from quietdoor.config import RelayLimits

from .support.deployments import KeyedDeployment, make_deployment
from .support.envelopes import new_case
from .support.processes import RelayProcess, free_port, start_relay, stop_relay, wait_until
from .support.relay_api import messages_path, signed_headers, solve_proof

pytestmark = pytest.mark.browser
FLOOD_SECONDS = 30  # the student's report must land within this
MAX_FLOOD_SECONDS = 120
FLOODERS = 4


@pytest.fixture
def guarded_site(tmp_path: Path) -> Iterator[tuple[KeyedDeployment, RelayProcess]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    td = make_deployment(tmp_path, base_url=url, relay=RelayLimits())  # production friction
    dist = tmp_path / "dist"
    assets = build_assets(dist)
    school = td.deployment.school("lincoln-high")
    assert school is not None
    page = landing_paths(td.deployment, school)["en"]  # the one page this test opens
    (dist / page).parent.mkdir(parents=True)
    (dist / page).write_text(render_landing(td.deployment, school, "en", assets, page))
    relay = start_relay(td.path, f"sqlite:///{tmp_path / 'relay.db'}", tmp_path, dist, port)
    try:
        yield td, relay
    finally:
        stop_relay(relay)


def flood(
    relay: RelayProcess, td: KeyedDeployment, until: float, stop: Event, seen: Counter[int]
) -> None:
    """One flooder: a challenge, solved, and a valid new case, again and again, from 127.0.0.2."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as client:
        while time.monotonic() < until and not stop.is_set():
            headers = {}
            challenge = client.get(relay.url + "/api/v1/challenge?school=lincoln-high")
            seen[challenge.status_code] += 1
            if challenge.status_code == 200:
                headers["x-qd-proof"] = solve_proof(challenge.json())
            body = new_case(td.deployment, "lincoln-high", "junk").body
            seen[
                client.post(relay.url + "/api/v1/cases", json=body, headers=headers).status_code
            ] += 1


def held_back(seen: Counter[int]) -> bool:
    """More than 100 refusals in more than 200 answers (by key: the flooders add to seen)."""
    return seen[429] > 100 and seen[200] + seen[201] + seen[429] > 200


def test_a_genuine_report_lands_while_one_address_floods(
    guarded_site: tuple[KeyedDeployment, RelayProcess], browser: Browser
) -> None:
    td, relay = guarded_site
    seen: Counter[int] = Counter()
    started = time.monotonic()
    until = started + MAX_FLOOD_SECONDS
    stop = Event()
    flooders = [
        threading.Thread(target=flood, args=(relay, td, until, stop, seen))
        for _ in range(FLOODERS)
    ]
    for f in flooders:
        f.start()
    try:
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(td.deployment.landing_url("lincoln-high"))
        page.fill("#what", "A genuine report, sent during a flood.")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)", timeout=FLOOD_SECONDS * 1000)
        landed = time.monotonic()
        code = page.inner_text("#case-code").strip()
        context.close()
        # Until the relay has shown it holds the flood back (or the flood's time is up).
        wait_until(
            lambda: held_back(seen) or time.monotonic() >= until,
            timeout=MAX_FLOOD_SECONDS + 5,
        )
    finally:
        stop.set()
        for f in flooders:
            f.join()
    flood_seconds = time.monotonic() - started
    assert landed < until  # it landed while the flood was still running
    assert seen[429] > 100 and sum(seen.values()) > 200  # the flood ran, and was held back
    # The report is there, and it is the student's: the lead opens it.
    case_id = protocol.CaseKeys.derive(code).case_id
    path = messages_path("lincoln-high", limit=200)
    rows = httpx.get(
        relay.url + path, headers=signed_headers(td.keys["dana-ortiz"].signing, path)
    ).json()["messages"]
    opened = [
        payloads.open_payload(protocol.parse_envelope(r["envelope"]), td.keys["dana-ortiz"].box)
        for r in rows
    ]
    reports = [p for p in opened if isinstance(p, payloads.Report)]
    assert any(
        p.header.case_id == case_id and p.answers.what.startswith("A genuine report")
        for p in reports
    )
    # One address got its burst and a trickle: 20, then 10 a minute.
    flooded = sum(1 for p in reports if p.answers.what == "junk")
    assert 0 < flooded <= 20 + 10 * flood_seconds / 60 + 1
