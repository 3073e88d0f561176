"""builder.landing: the student's page, as HTML and in Chromium.

The static checks read the rendered HTML; the browser checks serve a built page
over HTTP and stand in for the relay and the quick-exit site with Playwright
routes, so that every request the page makes is seen.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import posixpath
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from builder.assets import SITE_DIR, Asset, build_assets
from builder.landing import (
    SCRIPT_MESSAGES,
    LandingError,
    landing_paths,
    load_catalogs,
    read_hours_text,
    render_landing,
)
from quietdoor import payloads, protocol
from quietdoor.config import ReadHours, School, parse_config
from quietdoor.encoding import b64u_encode

from .helpers import KeyedDeployment, free_port, make_deployment

RELAY = "http://127.0.0.1:9"  # never reached: a Playwright route answers for it
EXIT = "https://exit.example"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src http://127.0.0.1:9; base-uri 'none'; form-action 'none'"
)
CASE_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> KeyedDeployment:
    return make_deployment(tmp_path_factory.mktemp("config"), relay_url=RELAY, quick_exit_url=EXIT)


@dataclass(frozen=True)
class Site:
    root: Path
    assets: dict[str, Asset]


@pytest.fixture(scope="module")
def site(keyed: KeyedDeployment, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Every school's pages in every language, as the builder writes them."""
    root = tmp_path_factory.mktemp("site")
    assets = build_assets(root)
    d = keyed.deployment
    for school in d.schools:
        for lang, path in landing_paths(d, school).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(
                render_landing(d, school, lang, assets, path), encoding="utf-8"
            )
    return Site(root, assets)


def school(keyed: KeyedDeployment, slug: str = "lincoln-high") -> School:
    found = keyed.deployment.school(slug)
    assert found is not None
    return found


# --- the HTML ----------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    inside: tuple[str, ...]  # tags of the open ancestors
    text: str = ""


class Document(HTMLParser):
    """Elements in document order, each with its own text and its ancestors' tags."""

    VOID = {"meta", "link", "input", "br", "img"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(e.tag for e in self._open))
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self._open and self._open[-1].tag == tag, f"unbalanced </{tag}>"
        self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag
            and all(
                e.attrs.get(k.removesuffix("_").replace("_", "-")) == v for k, v in attrs.items()
            )
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, found)
        return found[0]


def page_of(site: Site, path: str) -> Document:
    return Document((site.root / path).read_text(encoding="utf-8"))


def test_landing_paths_put_the_first_language_at_the_school_folder(keyed: KeyedDeployment) -> None:
    assert landing_paths(keyed.deployment, school(keyed)) == {
        "en": "s/lincoln-high/index.html",
        "es": "s/lincoln-high/es/index.html",
    }


@pytest.mark.parametrize("path", ["s/lincoln-high/index.html", "s/lincoln-high/es/index.html"])
def test_head_is_locked_down(site: Site, path: str) -> None:
    doc = page_of(site, path)
    head = [e for e in doc.elements if "head" in e.inside]
    assert head[0].attrs == {"charset": "utf-8"}
    assert head[1].attrs == {"http-equiv": "Content-Security-Policy", "content": CSP}
    assert doc.one("meta", name="referrer").attrs["content"] == "no-referrer"
    assert doc.one("meta", name="robots").attrs["content"] == "noindex"
    assert not doc.all("style") and not doc.all("iframe") and not doc.all("img")
    for element in doc.elements:
        assert "style" not in element.attrs, element
        assert not any(name.startswith("on") for name in element.attrs), element


@pytest.mark.parametrize("path", ["s/lincoln-high/index.html", "s/lincoln-high/es/index.html"])
def test_assets_are_relative_deferred_and_pinned(site: Site, path: str) -> None:
    doc = page_of(site, path)
    scripts = doc.all("script")
    names = []
    for script in scripts:
        assert script.text == "", "no inline script"
        assert set(script.attrs) == {"src", "integrity", "crossorigin", "defer"}
        assert script.attrs["crossorigin"] == "anonymous"
        names.append(_check_asset(site, path, script.attrs["src"], script.attrs["integrity"]))
    assert names == ["app.js", "nacl-fast.min.js", "blake2b.js", "envelope.js"]  # app.js first
    (css,) = doc.all("link", rel="stylesheet")
    assert css.attrs["crossorigin"] == "anonymous"
    assert _check_asset(site, path, css.attrs["href"], css.attrs["integrity"]) == "landing.css"


def _check_asset(site: Site, page: str, url: str, integrity: str) -> str:
    """The asset a relative URL names, after checking it resolves to the built file."""
    file_url, _, query = url.partition("?")
    assert not file_url.startswith(("/", "http:", "https:")), url
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), file_url))
    name = posixpath.basename(resolved)
    asset = site.assets[name]
    assert resolved == asset.path and (site.root / resolved).is_file()
    assert integrity == asset.integrity and query == f"v={asset.version}"
    return name


def test_language_links_reach_each_other(site: Site, keyed: KeyedDeployment) -> None:
    paths = landing_paths(keyed.deployment, school(keyed))
    for lang, path in paths.items():
        doc = page_of(site, path)
        assert doc.one("html").attrs["lang"] == lang
        links = doc.all("a", hreflang="es" if lang == "en" else "en")
        assert len(links) == 1
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), links[0].attrs["href"]))
        assert target == paths[links[0].attrs["hreflang"]]
    assert page_of(site, paths["en"]).all("a", hreflang="es")[0].text == "Español"
    assert page_of(site, paths["es"]).all("a", hreflang="en")[0].text == "English"


def test_one_language_has_no_language_links(keyed: KeyedDeployment, site: Site) -> None:
    d = dataclasses.replace(keyed.deployment, languages=("es",))
    html = render_landing(d, school(keyed), "es", site.assets, "s/lincoln-high/index.html")
    assert not Document(html).all("nav")
    assert landing_paths(d, school(keyed)) == {"es": "s/lincoln-high/index.html"}


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("s/lincoln-high/index.html", ["Call", "National Human Trafficking Hotline", "Text"]),
        ("s/lincoln-high/es/index.html", ["Llamar al", "Línea Nacional", "Mandar un texto al"]),
    ],
)
def test_emergency_help_is_in_the_html_itself(site: Site, path: str, words: list[str]) -> None:
    doc = page_of(site, path)
    links = {a.attrs["href"]: a.text for a in doc.all("a") if "noscript" not in a.inside}
    assert links["tel:911"].split() == [*words[0].split(), "911"]
    assert "1-888-373-7888" in links["tel:+18883737888"]
    assert "233733" in links["sms:233733"]
    help_box = doc.one("section", class_="help")
    assert words[1] in help_box.text
    assert "911" in doc.one("h2", id="help-heading").text
    (noscript,) = doc.all("noscript")
    assert "JavaScript" in noscript.text


def test_read_hours_are_stated_honestly(site: Site) -> None:
    en = page_of(site, "s/lincoln-high/index.html").one("p", class_="hours").text
    es = page_of(site, "s/lincoln-high/es/index.html").one("p", class_="hours").text
    assert en == (
        f"Staff read messages Monday to Friday, 7:30{NBSP}a.m. to 4:30{NBSP}p.m. "
        "Messages sent at other times wait until staff are back."
    )
    assert es.startswith(
        f"El personal lee los mensajes de lunes a viernes, de 7:30{NBSP}a.{NBSP}m. "
        f"a 4:30{NBSP}p.{NBSP}m. Los mensajes"
    )
    always = page_of(site, "s/cedar-valley-high/index.html").one("p", class_="hours").text
    assert always == "Messages are checked every day, at all hours."


@pytest.mark.parametrize(
    ("hours", "en", "es"),
    [
        (
            "mon,wed,fri 09:00-12:00",
            "Monday, Wednesday and Friday, 9:00 a.m. to 12:00 p.m.",
            "lunes, miércoles y viernes, de 9:00 a. m. a 12:00 p. m.",
        ),
        (
            "mon-wed,sat 00:00-23:59",
            "Monday to Wednesday and Saturday, 12:00 a.m. to 11:59 p.m.",
            "de lunes a miércoles y sábado, de 12:00 a. m. a 11:59 p. m.",
        ),
        (
            "sat-sun 10:05-13:30",
            "Saturday and Sunday, 10:05 a.m. to 1:30 p.m.",
            "sábado y domingo, de 10:05 a. m. a 1:30 p. m.",
        ),
        (
            "mon-sun 08:00-20:00",
            "every day, 8:00 a.m. to 8:00 p.m.",
            "todos los días, de 8:00 a. m. a 8:00 p. m.",
        ),
    ],
)
def test_read_hours_in_words(hours: str, en: str, es: str) -> None:
    raw = {
        "organisation": "o",
        "base_url": "https://a.example",
        "relay_url": "https://r.example",
        "languages": ["en"],
        "timezone": "America/Chicago",
        "districts": [{"slug": "d", "name": "D"}],
        "schools": [{"slug": "s", "name": "S", "district": "d", "read_hours": hours}],
        "recipients": [
            {
                "id": "r",
                "name": "R",
                "x25519": b64u_encode(bytes(32)),
                "ed25519": b64u_encode(bytes(32)),
                "schools": ["s"],
            }
        ],
    }
    read_hours = parse_config(raw).schools[0].read_hours
    catalogs = load_catalogs()
    assert (
        read_hours_text(read_hours, catalogs["en"]).replace(NBSP, " ")
        == f"Staff read messages {en}"
    )
    assert read_hours_text(read_hours, catalogs["es"]).replace(NBSP, " ") == (
        f"El personal lee los mensajes {es}"
    )
    assert read_hours_text(ReadHours(always=True), catalogs["es"]) == (
        "Los mensajes se revisan todos los días, a toda hora."
    )


def test_form_carries_the_school_keys_and_never_submits_natively(
    site: Site, keyed: KeyedDeployment
) -> None:
    doc = page_of(site, "s/lincoln-high/es/index.html")
    form = doc.one("form")
    assert form.attrs["method"] == "post"  # if a script ever failed open, no words go in a URL
    assert "action" not in form.attrs and "novalidate" in form.attrs
    assert form.attrs["autocomplete"] == "off"
    assert form.attrs["data-school"] == "lincoln-high" and form.attrs["data-lang"] == "es"
    assert form.attrs["data-relay"] == RELAY
    expected = [b64u_encode(r.x25519) for r in keyed.deployment.recipients_for("lincoln-high")]
    assert form.attrs["data-recipients"].split(" ") == expected and len(expected) == 2
    catalog = load_catalogs()["es"]
    for name in SCRIPT_MESSAGES:
        assert form.attrs["data-msg-" + name.replace("_", "-")] == catalog[name]
    exit_link = doc.one("a", id="quick-exit")
    assert exit_link.attrs["data-exit-url"] == exit_link.attrs["href"] == EXIT
    assert exit_link.attrs["rel"] == "noreferrer"


def test_every_control_has_a_label(site: Site) -> None:
    doc = page_of(site, "s/lincoln-high/index.html")
    label_for = {e.attrs["for"] for e in doc.all("label") if "for" in e.attrs}
    for control in doc.all("textarea"):
        assert control.attrs["id"] in label_for
    for radio in doc.all("input", type="radio"):
        assert "label" in radio.inside
    assert "Are you safe right now?" in doc.one("legend").text
    assert doc.one("p", id="status").attrs["role"] == "status"
    assert doc.one("p", id="form-error").attrs["role"] == "alert"
    assert [r.attrs["value"] for r in doc.all("input", type="radio")] == ["yes", "no", "unsure"]


def test_the_only_absolute_urls_are_the_exit_and_the_relay(site: Site) -> None:
    for path in site.root.glob("s/**/index.html"):
        html = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[^\s\"'<>;]+", html))
        assert urls <= {EXIT, RELAY}, (path, urls)


def test_school_names_are_escaped(keyed: KeyedDeployment, site: Site) -> None:
    evil = dataclasses.replace(school(keyed), name='<script>alert("x")</script> & Co')
    html = render_landing(keyed.deployment, evil, "en", site.assets, "s/lincoln-high/index.html")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_asset_urls_follow_the_page_depth(keyed: KeyedDeployment, site: Site) -> None:
    html = render_landing(keyed.deployment, school(keyed), "es", site.assets, "a/b/c/es/index.html")
    assert f'src="../../../../assets/app.js?v={site.assets["app.js"].version}"' in html
    assert 'href="../../../../s/lincoln-high/index.html"' in html


def test_refuses_a_language_the_deployment_does_not_offer(
    keyed: KeyedDeployment, site: Site
) -> None:
    d = dataclasses.replace(keyed.deployment, languages=("en",))
    with pytest.raises(LandingError, match="language 'es' is not in the deployment's languages"):
        render_landing(d, school(keyed), "es", site.assets, "s/lincoln-high/es/index.html")


def test_refuses_when_an_asset_is_missing(keyed: KeyedDeployment, site: Site) -> None:
    assets = {k: v for k, v in site.assets.items() if k != "envelope.js"}
    with pytest.raises(LandingError, match="asset 'envelope.js' was not built"):
        render_landing(keyed.deployment, school(keyed), "en", assets, "s/lincoln-high/index.html")


def test_scripts_store_nothing_and_register_no_worker() -> None:
    """A service worker would outlive the page: student pages never register one."""
    scripts = list((SITE_DIR / "js").glob("*.js"))
    assert len(scripts) >= 2
    for path in scripts:
        source = path.read_text(encoding="utf-8")
        for api in (
            "localStorage",
            "sessionStorage",
            "indexedDB",
            "document.cookie",
            "caches.",
            "serviceWorker",
        ):
            assert api not in source, (path.name, api)


# --- translations ------------------------------------------------------------


def test_every_language_has_every_key() -> None:
    catalogs = load_catalogs()
    assert set(catalogs) == {"en", "es"}
    assert catalogs["en"].keys() == catalogs["es"].keys()


def test_every_key_is_used_and_every_used_key_exists() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in (SITE_DIR / "templates").glob("*.j2"))
    used_in_templates = set(re.findall(r"\bt\.(\w+)", sources))
    landing_source = (Path(__file__).parent.parent / "builder/landing.py").read_text(
        encoding="utf-8"
    )
    keys = load_catalogs()["en"].keys()
    assert used_in_templates <= keys
    for key in keys - used_in_templates - set(SCRIPT_MESSAGES):
        assert re.search(f"[\"']{key}[\"']", landing_source), f"{key} is in en.toml but unused"


@functools.cache
def _catalog_text(lang: str) -> str:
    return (SITE_DIR / "i18n" / f"{lang}.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_key_missing_in_one_language_is_an_error(tmp_path: Path, lang: str) -> None:
    for other in ("en", "es"):
        text = _catalog_text(other)
        if other == lang:
            text = re.sub(r"(?m)^safe_unsure = .*\n", "", text)
        (tmp_path / f"{other}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LandingError, match=r"missing 'safe_unsure'"):
        load_catalogs(tmp_path)


def test_a_translation_must_be_text(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(_catalog_text("en") + "extra = 3\n", encoding="utf-8")
    (tmp_path / "es.toml").write_text(_catalog_text("es") + "extra = 3\n", encoding="utf-8")
    with pytest.raises(LandingError, match="extra: expected text, got 3"):
        load_catalogs(tmp_path)


# --- in Chromium -------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[str]:
    """The built pages over HTTP on a loopback port, as a static host would serve them."""
    handler = functools.partial(_QuietHandler, directory=str(site.root))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class FakeRelay:
    """Answers the page's POSTs with the statuses queued in `answers` (201 when empty)."""

    answers: list[int] = dataclasses.field(default_factory=list)
    posts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    bodies: list[str] = dataclasses.field(default_factory=list)
    headers: list[dict[str, str]] = dataclasses.field(default_factory=list)
    elsewhere: list[str] = dataclasses.field(default_factory=list)

    def handle(self, route: Route) -> None:
        request = route.request
        cors = {
            "access-control-allow-origin": "*",
            "access-control-allow-headers": "content-type",
            "access-control-allow-methods": "POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        if request.method != "POST" or request.url != RELAY + "/api/v1/cases":
            self.elsewhere.append(f"{request.method} {request.url}")
            route.abort()
            return
        body = request.post_data or ""
        self.bodies.append(body)
        self.posts.append(json.loads(body))
        self.headers.append(request.headers)
        status = self.answers.pop(0) if self.answers else 201
        answer = {"id": "abc", "received": "2026-11-28"} if status == 201 else {"error": "no"}
        route.fulfill(
            status=status, headers=cors, content_type="application/json", body=json.dumps(answer)
        )


@dataclass
class Visit:
    context: BrowserContext
    page: Page
    relay: FakeRelay
    requests: list[str]


@pytest.fixture
def visit(browser: Browser, server: str) -> Iterator[Visit]:  # noqa: F811 - fixture
    context = browser.new_context(viewport={"width": 360, "height": 740})
    relay = FakeRelay()
    context.route(RELAY + "/**", relay.handle)
    context.route(
        EXIT + "/**",
        lambda r: r.fulfill(status=200, content_type="text/html", body="<title>elsewhere</title>"),
    )
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/s/lincoln-high/")
    try:
        yield Visit(context, page, relay, requests)
    finally:
        context.close()


def _open(keyed: KeyedDeployment, body: dict[str, Any], school_slug: str) -> list[payloads.Payload]:
    """The payload as every recipient of the school decrypts it."""
    parsed = protocol.parse_new_case(body).envelope
    readers = keyed.deployment.recipients_for(school_slug)
    return [payloads.open_payload(parsed, keyed.keys[r.id].box) for r in readers]


@pytest.mark.browser
def test_a_report_is_sealed_sent_and_the_code_shown(
    visit: Visit, keyed: KeyedDeployment, server: str
) -> None:
    page = visit.page
    marker = "MARKER-4f9c"
    page.fill("#what", f"My coach keeps my papers. {marker}")
    assert page.is_hidden("#unsafe-note")
    page.check("input[name=safe_now][value=no]")
    assert page.is_visible("#unsafe-note")
    page.fill("#more", "Después de clase. 你好")
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)")

    code = page.inner_text("#case-code")
    assert CASE_CODE.match(code), code
    assert page.is_hidden("#report") and page.evaluate("document.activeElement.id") == "result"
    assert page.input_value("#what") == "" and page.input_value("#more") == ""
    assert not page.is_checked("input[name=safe_now][value=no]")

    (body,) = visit.relay.posts
    assert marker not in visit.relay.bodies[0]
    case = protocol.CaseKeys.derive(code)
    assert protocol.parse_new_case(body).case_id == case.case_id
    for payload in _open(keyed, body, "lincoln-high"):
        assert isinstance(payload, payloads.Report)
        assert payload.answers == payloads.Answers(
            what=f"My coach keeps my papers. {marker}", safe_now="no", more="Después de clase. 你好"
        )
        assert payload.lang == "en" and payload.header.case_id == case.case_id
        assert payload.reply_pk == bytes(case.reply_key.public_key)

    headers = visit.relay.headers[0]
    assert "cookie" not in headers and "referer" not in headers
    assert all(url.startswith((server + "/", RELAY + "/")) for url in visit.requests), (
        visit.requests
    )
    assert not visit.relay.elsewhere
    assert visit.context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


@pytest.mark.browser
def test_a_failed_send_keeps_the_words_and_try_again_sends_the_same_envelope(visit: Visit) -> None:
    page = visit.page
    visit.relay.answers = [503]
    page.fill("#what", "Please help")
    page.click("#send")
    page.wait_for_selector("#form-error:not(:empty)")
    assert "did not send" in page.inner_text("#form-error")
    assert page.input_value("#what") == "Please help"
    assert page.inner_text("#send") == "Try again" and page.is_enabled("#send")
    assert page.inner_text("#case-code") == ""

    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)")
    assert page.inner_text("#form-error") == ""
    # The same bytes: if the first post did arrive, the relay stores it once (same nonce).
    assert len(visit.relay.bodies) == 2 and visit.relay.bodies[0] == visit.relay.bodies[1]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("status", "words"), [(429, "cannot take more"), (422, "out of date"), (413, "too long")]
)
def test_relay_refusals_get_a_plain_message(visit: Visit, status: int, words: str) -> None:
    visit.relay.answers = [status]
    visit.page.fill("#what", "hello")
    visit.page.click("#send")
    visit.page.wait_for_selector("#form-error:not(:empty)")
    assert words in visit.page.inner_text("#form-error")
    assert visit.page.input_value("#what") == "hello"


@pytest.mark.browser
def test_changed_words_are_sealed_again(visit: Visit) -> None:
    visit.relay.answers = [503]
    visit.page.fill("#what", "first try")
    visit.page.click("#send")
    visit.page.wait_for_selector("#form-error:not(:empty)")
    visit.page.fill("#what", "first try, and more")
    visit.page.click("#send")
    visit.page.wait_for_selector("#case-code:not(:empty)")
    first, second = visit.relay.posts
    assert first["case_id"] != second["case_id"]
    assert first["envelope"]["nonce"] != second["envelope"]["nonce"]


@pytest.mark.browser
def test_nothing_is_sent_without_what_is_happening(visit: Visit) -> None:
    page = visit.page
    page.fill("#what", "   ")
    page.check("input[name=safe_now][value=yes]")
    page.click("#send")
    assert page.is_visible("#what-error")
    assert page.get_attribute("#what", "aria-invalid") == "true"
    assert page.get_attribute("#what", "aria-describedby") == "what-hint what-error"
    assert page.evaluate("document.activeElement.id") == "what"
    page.fill("#what", "ok")
    assert page.is_hidden("#what-error")
    assert visit.relay.posts == []


@pytest.mark.browser
def test_too_long_is_refused_in_the_page(visit: Visit) -> None:
    visit.page.fill("#what", "x" * (64 * 1024))
    visit.page.click("#send")
    visit.page.wait_for_selector("#form-error:not(:empty)")
    assert "too long" in visit.page.inner_text("#form-error")
    assert visit.relay.posts == []
    assert visit.page.is_enabled("#send")


@pytest.mark.browser
@pytest.mark.parametrize("how", ["button", "shift"])
def test_quick_exit_clears_and_leaves_no_history(visit: Visit, how: str) -> None:
    page = visit.page
    length = page.evaluate("history.length")
    page.fill("#what", "secret words")
    if how == "button":
        page.click("#quick-exit")
    else:
        page.focus("#more")
        for _ in range(3):
            page.keyboard.press("Shift")
    page.wait_for_url(EXIT + "/")
    assert page.evaluate("history.length") == length  # replaced, not pushed
    assert visit.relay.posts == []


@pytest.mark.browser
def test_going_back_to_the_page_shows_no_words(visit: Visit) -> None:
    page = visit.page
    page.fill("#what", "secret words")
    page.click("a[hreflang=es]")
    page.wait_for_url("**/es/index.html")
    page.go_back()
    page.wait_for_selector("#send:enabled")
    assert page.input_value("#what") == ""


@pytest.mark.browser
def test_shift_while_typing_does_not_leave(visit: Visit) -> None:
    page = visit.page
    page.focus("#what")
    for key in ("Shift", "Shift+A", "Shift", "Shift+B", "Shift"):
        page.keyboard.press(key)
    page.wait_for_timeout(200)
    assert page.url.endswith("/s/lincoln-high/")
    assert page.input_value("#what") == "AB"


@pytest.mark.browser
def test_the_form_works_before_the_crypto_arrives(browser: Browser, server: str) -> None:  # noqa: F811
    context = browser.new_context()
    relay = FakeRelay()
    context.route(RELAY + "/**", relay.handle)
    held: list[Route] = []
    context.route("**/assets/nacl-fast.min.js*", lambda route: held.append(route))
    page = context.new_page()
    try:
        # DOMContentLoaded waits for every deferred script; app.js runs before them.
        page.goto(server + "/s/lincoln-high/es/", wait_until="commit")
        page.wait_for_selector("#send:enabled")
        assert page.evaluate("typeof nacl") == "undefined"
        page.fill("#what", "escrito antes de tiempo")
        page.click("#send")
        page.wait_for_selector("#status:not(:empty)")
        assert page.inner_text("#status") == "Preparando todo. Un momento…"
        assert page.is_disabled("#send")
        while not held:  # the route handler runs as Playwright delivers its events
            page.wait_for_timeout(20)
        held[0].continue_()
        page.wait_for_selector("#case-code:not(:empty)")
        assert len(relay.posts) == 1
    finally:
        context.close()


@pytest.mark.browser
def test_a_crypto_script_that_fails_keeps_the_words(browser: Browser, server: str) -> None:  # noqa: F811
    context = browser.new_context()
    context.route("**/assets/blake2b.js*", lambda r: r.fulfill(status=200, body="tampered()"))
    page = context.new_page()
    try:
        page.goto(server + "/s/lincoln-high/")
        page.fill("#what", "still here")
        page.click("#send")
        page.wait_for_selector("#form-error:not(:empty)")
        assert "did not load all the way" in page.inner_text("#form-error")
        assert page.input_value("#what") == "still here"
    finally:
        context.close()


@pytest.mark.browser
def test_without_javascript_the_help_is_still_there(browser: Browser, server: str) -> None:  # noqa: F811
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server + "/s/lincoln-high/es/")
        assert page.is_visible("a[href='tel:911']")
        assert page.is_visible("a[href='sms:233733']")
        assert page.is_visible("a[href='tel:+18883737888']")
        assert "necesita JavaScript" in page.inner_text("main")
        assert page.is_visible("#quick-exit")
        assert page.is_disabled("#send")
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/s/lincoln-high/", "/s/lincoln-high/es/"])
def test_fits_a_small_phone_with_big_targets(browser: Browser, server: str, path: str) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        page.goto(server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        small = page.evaluate(
            """() => [...document.querySelectorAll('a, button, label.choice, textarea')]
                 .filter(e => e.offsetParent !== null)
                 .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
                 .filter(([, r]) => r.height < 44 || r.width < 44 || r.right > 320)"""
        )
        assert small == []
        sizes = page.evaluate(
            "[...document.querySelectorAll('main *:not(input), header *, footer *')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert min(sizes) >= 16
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 360, 1024])
def test_the_case_code_shows_on_one_line(browser: Browser, server: str, width: int) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 700})
    relay = FakeRelay()
    context.route(RELAY + "/**", relay.handle)
    page = context.new_page()
    try:
        page.goto(server + "/s/lincoln-high/es/")
        page.fill("#what", "hola")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)")
        font, lines = page.evaluate(
            """() => {
                const e = document.getElementById('case-code'), s = getComputedStyle(e);
                const pad = parseFloat(s.paddingTop) + parseFloat(s.paddingBottom);
                return [parseFloat(s.fontSize), (e.clientHeight - pad) / parseFloat(s.lineHeight)];
            }"""
        )
        assert font >= 16 and round(lines) == 1, (font, lines)
    finally:
        context.close()
