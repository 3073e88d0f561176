"""The student pages in every language (issue 25), built by the builder, served by a real
relay and read in Chromium: direction, accessibility, the first screen, the offer of the
browser's language, dates as Intl writes them, and a report that reaches the lead intact."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page

from builder.i18n import clock, day_names
from builder.landing import load_catalogs
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES

from .support.axe import violations
from .support.case_page import open_case, thread_items
from .support.keytool import keytool_cli
from .support.processes import stop_relay
from .support.site import Site, post_conversation, serve_example

SCHOOL = "lincoln-high"  # read by Dana Ortiz, whose keys keytool_cli uses
PHONE = {"width": 390, "height": 844}
CLDR_LANGUAGES = [code for code, row in LANGUAGES.items() if row.cldr]
OWN_WORDS_LANGUAGES = [code for code, row in LANGUAGES.items() if not row.cldr]


@pytest.fixture(scope="module")
def every_language(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    served = serve_example(tmp_path_factory.mktemp("languages"), languages=SUPPORTED_LANGUAGES)
    try:
        yield served
    finally:
        stop_relay(served.relay)


def url(site: Site, lang: str, case: bool = False) -> str:
    folder = "" if lang == SUPPORTED_LANGUAGES[0] else f"{lang}/"
    return f"{site.relay.url}/s/{SCHOOL}/{folder}{'case/' if case else ''}"


@pytest.mark.parametrize("case", [False, True], ids=["landing", "case"])
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_each_page_says_its_language_and_direction(
    every_language: Site, lang: str, case: bool
) -> None:
    folder = every_language.dist / "s" / SCHOOL
    if lang != "en":
        folder /= lang
    html = ((folder / "case" if case else folder) / "index.html").read_text(encoding="utf-8")
    row = LANGUAGES[lang]
    assert f'<html lang="{lang}" dir="{row.direction}">' in html
    assert f'data-lang="{row.payload_lang}"' in html  # the report's two-letter `lang`
    # One language's page carries its own strings and no other's (the language menu's
    # names and one-line offers aside).
    own = load_catalogs()[lang]
    for other, strings in load_catalogs().items():
        if other != lang and strings["intro_no_name"] != own["intro_no_name"]:
            assert strings["intro_no_name"] not in html, other
    # Every other language is offered, in its own name.
    for other in SUPPORTED_LANGUAGES:
        if other != lang:
            assert f'hreflang="{other}" lang="{other}"' in html
            assert f">{LANGUAGES[other].native}</a>" in html
    assert ('dir="rtl">العربية</a>' in html) is (lang != "ar")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("case", [False, True], ids=["landing", "case"])
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_axe_finds_nothing_in_any_language(
    every_language: Site, browser: Browser, lang: str, case: bool, scheme: str
) -> None:
    context = browser.new_context(bypass_csp=True, viewport=PHONE, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(url(every_language, lang, case))
        assert violations(page) == []
        page.click(".languages summary")  # the open language menu too
        assert violations(page) == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_first_screen_shows_the_text_box_numbers_and_quick_exit(
    every_language: Site, browser: Browser, lang: str
) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(url(every_language, lang))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        on_screen = """e => { const r = e.getBoundingClientRect();
                        return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight; }"""
        for number in ("tel:911", "tel:+18883737888", "sms:233733"):
            link = page.locator(f"a[href='{number}']")
            assert link.evaluate(on_screen), number
            assert link.locator(".number").evaluate("e => getComputedStyle(e).direction") == "ltr"
        top = page.locator("#what").evaluate(
            "e => [e.getBoundingClientRect().top, parseFloat(getComputedStyle(e).lineHeight)]"
        )
        assert top[0] + 3 * top[1] <= PHONE["height"], top
        assert page.locator(".intro").evaluate(on_screen)
        # The quick exit stays at the top right, mirrored layout or not: where a thumb finds it.
        exit_box = page.locator("#quick-exit").bounding_box()
        assert exit_box is not None and exit_box["y"] < 60
        assert exit_box["x"] + exit_box["width"] >= PHONE["width"] - 20
        assert page.evaluate("window.scrollY") == 0
    finally:
        context.close()


@pytest.mark.browser
def test_arabic_is_mirrored(every_language: Site, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(url(every_language, "ar"))
        menu = page.locator(".languages summary").bounding_box()
        assert menu is not None and menu["x"] < 40  # the menu moves left; the quick exit
        # stays right (test_the_first_screen_...)
        help_box = page.locator("#help").evaluate(
            "e => [getComputedStyle(e).borderRightWidth, getComputedStyle(e).borderLeftWidth]"
        )
        assert help_box == ["6px", "1px"]  # the accent stripe on the reading side
    finally:
        context.close()


def _babel_words(lang: str) -> list[str]:
    return [*day_names(lang), clock("07:30", lang), clock("16:30", lang)]


@pytest.mark.browser
@pytest.mark.parametrize("lang", CLDR_LANGUAGES)
def test_intl_in_the_page_and_babel_in_the_builder_agree(browser: Browser, lang: str) -> None:
    page = browser.new_page()
    try:
        intl = page.evaluate(
            """lang => {
                const day = new Intl.DateTimeFormat(lang, {weekday: 'long', timeZone: 'UTC'});
                const time = new Intl.DateTimeFormat(lang, {timeStyle: 'short', timeZone: 'UTC'});
                const days = [...Array(7).keys()].map(
                    i => day.format(Date.UTC(2026, 10, 23 + i)));  // Monday 23 November
                return [...days, time.format(Date.UTC(2026, 0, 1, 7, 30)),
                        time.format(Date.UTC(2026, 0, 1, 16, 30))];
            }""",
            lang,
        )
    finally:
        page.close()
    # Chromium writes a plain space where CLDR (and Babel) put a narrow no-break one.
    assert [_spaces(w) for w in intl] == [_spaces(w) for w in _babel_words(lang)]


def _spaces(text: str) -> str:
    return re.sub(r"\s", " ", text)


@pytest.mark.browser
@pytest.mark.parametrize("lang", OWN_WORDS_LANGUAGES)
def test_intl_has_no_words_for_a_language_and_the_case_page_carries_the_files(
    every_language: Site, browser: Browser, lang: str
) -> None:
    """Where Chromium's Intl falls back to English, the page has the words Python uses."""
    page = browser.new_page()
    try:
        page.goto(url(every_language, lang, case=True))
        supported, calendar = page.evaluate(
            """lang => [Intl.DateTimeFormat.supportedLocalesOf([lang]),
                        JSON.parse(document.getElementById('case-data').dataset.calendar)]""",
            lang,
        )
    finally:
        page.close()
    assert supported == []
    assert calendar["days"] == _babel_words(lang)[:7]


# Lincoln High is in America/Los_Angeles, the phone in Tokyo; "now" is Friday 27 November
# 2026, noon in Los Angeles (as in test_case_page.py).
NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
SENT = (
    datetime(2026, 11, 17, 7, 30, tzinfo=UTC),  # LA: Monday 16th, 11:30 p.m.: "Monday, 16 November"
    datetime(2026, 11, 25, 6, 0, tzinfo=UTC),  # LA: Tuesday 24th, 10 p.m.: "Tuesday"
    datetime(2026, 11, 27, 16, 0, tzinfo=UTC),  # LA: Friday 27th, 8 a.m.: "today"
)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("lang", "monday_16th", "tuesday"),
    [("ht", "lendi 16 novanm", "madi"), ("so", "Isniin, Noofeembar 16", "Talaado")],
)
def test_the_case_page_names_the_days_in_the_files_words(
    every_language: Site, browser: Browser, lang: str, monday_16th: str, tuesday: str
) -> None:
    t = load_catalogs()[lang]
    case = post_conversation(every_language, SCHOOL, "dana-ortiz", "Old words", "New words", SENT)
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.clock.set_fixed_time(NOW)
        open_case(page, url(every_language, lang, case=True), case.code)
        assert thread_items(page) == [
            f"{t['thread_you']} · {monday_16th} Old words {t['safe_legend']} {t['safe_unsure']}",
            t["thread_read_on"].format(day=tuesday),
            f"{t['thread_school']} · {t['thread_today']} New words",
        ]
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ht", ["lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch"]),
        ("so", ["Isniin", "Talaado", "Arbaco", "Khamiis", "Jimco", "Sabti", "Axad"]),
    ],
)
def test_a_language_the_browser_has_no_words_for_carries_its_own(
    lang: str, words: list[str]
) -> None:
    """CLDR has nothing for Haitian Creole; Chromium's Intl has nothing for Somali."""
    assert not LANGUAGES[lang].cldr
    assert _babel_words(lang)[:7] == words


@pytest.mark.browser
@pytest.mark.parametrize(
    ("browser_locale", "page_lang", "offered"),
    [
        ("vi-VN", "en", "vi"),
        ("zh-CN", "es", "zh-Hans"),  # zh matches zh-Hans
        ("ar", "en", "ar"),
        ("vi-VN", "vi", None),  # already in it
        ("fr-FR", "en", None),  # not one of the school's
    ],
)
def test_the_page_offers_the_language_the_browser_prefers(
    every_language: Site,
    browser: Browser,
    browser_locale: str,
    page_lang: str,
    offered: str | None,
) -> None:
    context = browser.new_context(viewport=PHONE, locale=browser_locale)
    try:
        page = context.new_page()
        page.goto(url(every_language, page_lang))
        offer = page.locator("#language-offer")
        if offered is None:
            assert offer.is_hidden()
            return
        link = offer.locator("a")
        assert link.inner_text() == LANGUAGES[offered].native
        assert link.get_attribute("lang") == offered
        link.click()
        page.wait_for_url(url(every_language, offered) + "index.html")
        stored = "[document.cookie, localStorage.length, sessionStorage.length]"
        assert page.evaluate(stored) == ["", 0, 0]
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ar", "شخص يجبرني على العمل في الليل. عمري 15 سنة."),
        ("zh-Hans", "有人逼我晚上工作。我今年15岁。"),
        ("vi", "Có người bắt tôi làm việc ban đêm. Tôi 15 tuổi."),
    ],
)
def test_a_report_in_the_language_reaches_the_lead_intact(
    every_language: Site, browser: Browser, lang: str, words: str
) -> None:
    marker = secrets.token_hex(6)
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(url(every_language, lang))
        page.fill("#what", f"{words} {marker}")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)", timeout=30_000)
        assert page.locator("#case-code").evaluate("e => getComputedStyle(e).direction") == "ltr"
        _expect_sent_text(page, lang)
    finally:
        context.close()
    keytool_cli(every_language, "fetch")
    cases = json.loads(keytool_cli(every_language, "list", "--json"))["cases"]
    payloads = [
        json.loads(keytool_cli(every_language, "show", c["id"], "--json"))["messages"][0]["payload"]
        for c in cases
    ]
    [mine] = [p for p in payloads if marker in p["answers"]["what"]]
    assert mine["answers"]["what"] == f"{words} {marker}"
    assert mine["lang"] == LANGUAGES[lang].payload_lang


def _expect_sent_text(page: Page, lang: str) -> None:
    """The page after sending speaks the page's language, dates and times included."""
    text = page.inner_text("#result")
    assert load_catalogs()[lang]["sent_heading"] in text
    assert _spaces(clock("07:30", lang)) in _spaces(text)
