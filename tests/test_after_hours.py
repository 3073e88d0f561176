"""What the student pages promise outside read hours (only what the escalation config
backs), and the opt-in urgent bit the landing page sends beside a report."""

from __future__ import annotations

import dataclasses
import functools
import html
import re
import threading
import unicodedata
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Route

from builder.assets import build_assets
from builder.landing import landing_paths, load_catalogs, read_hours_text, render_landing
from builder.qr import make_code
from builder.signs import render_pdf, sign_text
from quietdoor.config import Deployment, load_config, on_call_around_the_clock
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES
from relay.headers import CORS_HEADERS
from relay.proof import Proofs

from .support.axe import violations
from .support.fonts import cmap
from .support.ladders import (
    UNREACHABLE,
    example_without_ladder,
    ladder_text,
    without_channels,
    write_ladder,
)
from .support.prints import letters, pdf_text

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
    text = {"ladder": ladder_text(), "holey": HOLEY, "none": example_without_ladder()}[config]
    d = load_config(write_ladder(tmp_path, text))
    assert on_call_around_the_clock(d, "lincoln-high") is (said == "on call")
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


# Ana Wu and Ben Cho, on call, reached by webhook alone (no e-mail, no channel).
BY_WEBHOOK = (
    UNREACHABLE["no-email"]
    .replace(
        'districts = ["riverside-unified"]\n\n[[recipients]]\nid = "ben-cho"',
        'districts = ["riverside-unified"]\nwebhook = "https://chat.riverside.example/ana"\n\n'
        '[[recipients]]\nid = "ben-cho"',
    )
    .replace(
        'districts = ["riverside-unified"]\n\n[notify]',
        'districts = ["riverside-unified"]\nwebhook = "https://chat.riverside.example/ben"\n\n'
        "[notify]",
    )
)


@pytest.mark.parametrize(
    ("text", "on_call"),
    [
        *[pytest.param(text, False, id=name) for name, text in UNREACHABLE.items()],
        pytest.param(without_channels(ladder_text()), True, id="e-mail-no-channel"),
        pytest.param(BY_WEBHOOK, True, id="webhook-no-channel"),
    ],
)
def test_the_pages_promise_a_person_on_call_only_when_an_alert_can_reach_one(
    tmp_path: Path, text: str, on_call: bool
) -> None:
    """A tier counts only when its people, at every hour they are on call, have an e-mail
    (with [notify] smtp) or a webhook and a key for the school, or the tier has a channel."""
    d = load_config(write_ladder(tmp_path, text))
    school = d.school("lincoln-high")
    assert school is not None
    strings = load_catalogs()["en"]
    path = landing_paths(d, school)["en"]
    page = html.unescape(render_landing(d, school, "en", build_assets(tmp_path / "site"), path))
    found = re.search(r'<p class="hours">(.*?)</p>', page, re.DOTALL)
    assert found is not None
    expected = strings["hours_on_call" if on_call else "hours_other_times"]
    assert found[1].endswith(expected), found[1]


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
@pytest.mark.parametrize("config", ["ladder", "holey", "none"])
def test_after_sending_out_of_hours_the_page_says_who_is_alerted(
    tmp_path: Path, config: str, lang: str
) -> None:
    """The sentence app.js shows after sending outside the read hours: "a person on call is
    alerted" where the ladder covers every hour, "the next time is ..." where it does not."""
    text = {"ladder": ladder_text(), "holey": HOLEY, "none": example_without_ladder()}[config]
    d = dataclasses.replace(load_config(write_ladder(tmp_path, text)), languages=(lang,))
    school = d.school("lincoln-high")
    assert school is not None
    strings = load_catalogs()[lang]
    path = landing_paths(d, school)[lang]
    page = html.unescape(render_landing(d, school, lang, build_assets(tmp_path / "site"), path))
    later = {m[0]: m[1] for m in re.findall(r'data-msg-(next-[a-z]+)="([^"]*)"', page)}
    assert set(later) == {"next-now", "next-today", "next-tomorrow", "next-day"}
    on_call = config == "ladder"
    for name in ("next-today", "next-tomorrow", "next-day"):
        assert (later[name] == strings["next_read_on_call"]) is on_call, name
    assert strings["next_read_on_call"] not in later["next-now"]


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_language_says_a_person_on_call_is_alerted_on_the_page_and_the_sign(
    tmp_path: Path, lang: str
) -> None:
    d = load_config(write_ladder(tmp_path))
    d = dataclasses.replace(d, languages=SUPPORTED_LANGUAGES)
    school = d.school("lincoln-high")
    assert school is not None
    strings = load_catalogs()[lang]
    sentence = strings["hours_on_call"]
    path = landing_paths(d, school)[lang]
    page = render_landing(d, school, lang, build_assets(tmp_path / "site"), path)
    found = re.search(r'<p class="hours">(.*?)</p>', page, re.DOTALL)
    assert found is not None
    # the whole-sentence read hours, then the after-hours sentence, and not the other one
    assert html.unescape(found[1]) == f"{read_hours_text(school.read_hours, lang)} {sentence}"
    text = sign_text(d, school, d.placements_for(school.slug)[0], lang)
    assert text.hours.endswith(sentence) and strings["hours_other_times"] not in text.hours
    pdf = tmp_path / "sign.pdf"
    pdf.write_bytes(render_pdf(text, make_code(text.url), "letter", "sign", d.organisation))
    assert letters(sentence) in letters(pdf_text(pdf))
    drawn = {
        c for c in unicodedata.normalize("NFC", sentence) if unicodedata.category(c)[0] in "LM"
    }
    assert drawn <= cmap(LANGUAGES[lang].sign_font)


@pytest.mark.parametrize(
    ("urgent_hint", "safe_now", "sent"),
    [("true", "no", True), ("true", "unsure", False), ("false", "no", False)],
    ids=["on-not-safe", "on-unsure", "off-not-safe"],
)
def test_the_page_sends_the_urgent_bit_only_when_on_and_not_safe_now(
    tmp_path: Path,
    served: tuple[Path, str],
    browser: Browser,
    urgent_hint: str,
    safe_now: str,
    sent: bool,
) -> None:
    root, url = served
    text = ladder_text().replace(
        "[[escalation.channels]]",
        f"[escalation]\nurgent_hint = {urgent_hint}\n\n[[escalation.channels]]",
        1,
    )
    deployment = load_config(write_ladder(tmp_path, text))
    build_lincoln(deployment, root)
    proofs = Proofs(bytes(32))
    posts: list[dict[str, str]] = []

    def relay(route: Route) -> None:
        request = route.request
        cors = {
            "access-control-allow-origin": "*",
            "access-control-allow-headers": ", ".join(CORS_HEADERS),
            "access-control-allow-methods": "GET, POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
        elif request.method == "GET":
            made = proofs.challenge("lincoln-high", 20, busy=False)
            route.fulfill(status=200, headers=cors, json=made)
        else:
            posts.append(request.headers)
            answer = {"id": "abc", "received": "2026-12-06"}
            route.fulfill(status=201, headers=cors, json=answer)

    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        context.route(deployment.relay_url + "/**", relay)  # answered by the test
        page = context.new_page()
        page.goto(f"{url}/s/lincoln-high/")
        page.fill("#what", "Someone at home hurts me.")
        page.check(f"input[name=safe_now][value={safe_now}]")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)")
    finally:
        context.close()
    (headers,) = posts
    assert headers.get("x-qd-urgent") == ("1" if sent else None)
