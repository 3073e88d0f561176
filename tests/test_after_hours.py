"""What the student pages promise outside read hours: only what the escalation config backs."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from builder.assets import build_assets
from builder.landing import landing_paths, render_landing
from quietdoor.config import Deployment, load_config

from .support.axe import violations
from .support.ladders import ladder_text, write_ladder
from .support.paths import EXAMPLE

pytestmark = pytest.mark.browser
HOLEY = (
    ladder_text()
    .replace(  # the last tier gone, and a rota with a hole every night
        '[[escalation.ladders.tiers]]\nrecipients = ["marcus-lee"]', "[[escalation.unused]]"
    )
    .split("[[escalation.unused]]")[0]
    .replace("mon-fri 00:00-24:00", "mon-fri 07:00-22:00")
)
SENTENCES = {
    "on call": (
        "Outside these hours, a person on call is alerted.",
        "Fuera de este horario, se avisa a una persona de guardia.",
    ),
    "waits": (
        "Messages sent at other times wait until then.",
        "Los mensajes enviados a otras horas esperan hasta entonces.",
    ),
}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "site"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def build_lincoln(d: Deployment, root: Path) -> None:
    assets = build_assets(root)
    school = d.school("lincoln-high")
    assert school is not None
    for lang, path in landing_paths(d, school).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(render_landing(d, school, lang, assets, path), encoding="utf-8")


@pytest.mark.parametrize(
    ("config", "said"),
    [("ladder", "on call"), ("holey", "waits"), ("none", "waits")],
    ids=["a-24/7-tier", "only-a-rota-with-holes", "no-ladder"],
)
def test_the_pages_say_what_happens_after_hours(
    tmp_path: Path, served: tuple[Path, str], browser: Browser, config: str, said: str
) -> None:
    root, url = served
    text = {"ladder": ladder_text(), "holey": HOLEY, "none": EXAMPLE.read_text()}[config]
    d = load_config(write_ladder(tmp_path, text))
    assert d.on_call_around_the_clock("lincoln-high") is (said == "on call")
    build_lincoln(d, root)
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        for lang, sentence in zip(("", "es/"), SENTENCES[said], strict=True):
            page.goto(f"{url}/s/lincoln-high/{lang}")
            hours = page.locator("p.hours").inner_text()
            assert hours.endswith(sentence), hours
            others = [s for k, pair in SENTENCES.items() if k != said for s in pair]
            assert not any(s in hours for s in others)
            assert violations(page) == []
    finally:
        context.close()
