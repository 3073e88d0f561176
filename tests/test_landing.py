"""builder.landing: the student's landing page (and what it shares with the case page),
as HTML and in Chromium.

The static checks read the rendered HTML; the browser checks serve a built page
over HTTP and stand in for the relay and the quick-exit site with Playwright
routes, so that every request the page makes is seen. The case page's own
behaviour, against the real relay and key tool, is in test_case_page.py.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import hashlib
import json
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Browser, BrowserContext, Page, Route

from builder.assets import SITE_DIR, Asset, build_assets
from builder.landing import (
    CASE_SCRIPT_MESSAGES,
    SCRIPT_MESSAGES,
    LandingError,
    case_paths,
    landing_paths,
    load_catalogs,
    read_hours_text,
    relative,
    render_case,
    render_landing,
)
from quietdoor import payloads, protocol
from quietdoor.config import ReadHours, School, parse_config
from quietdoor.config.ladder import Escalation
from quietdoor.csp import source_hash
from quietdoor.encoding import b64u_encode
from quietdoor.languages import SUPPORTED_LANGUAGES
from relay.proof import Proofs

from .support.deployments import KeyedDeployment, make_deployment
from .support.processes import free_port

RELAY = "http://127.0.0.1:9"  # never reached: a Playwright route answers for it
EXIT = "https://exit.example"
POLICY = re.compile(
    r"default-src 'none'; script-src 'self'(?P<scripts>( '[^']+')*); "
    r"style-src 'self'(?P<styles>( '[^']+')*); img-src 'self'; "
    r"connect-src http://127\.0\.0\.1:9; base-uri 'none'; form-action 'none'"
)
PAGES = [
    "s/lincoln-high/index.html",
    "s/lincoln-high/es/index.html",
    "s/lincoln-high/case/index.html",
    "s/lincoln-high/es/case/index.html",
]
CASE_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> KeyedDeployment:
    """The example without its escalation ladder: these pages say when the school reads next
    (what the pages say with a ladder is in test_after_hours.py)."""
    return make_deployment(
        tmp_path_factory.mktemp("config"),
        relay_url=RELAY,
        quick_exit_url=EXIT,
        escalation=Escalation(),
    )


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
        for paths, render in ((landing_paths, render_landing), (case_paths, render_case)):
            for lang, path in paths(d, school).items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(render(d, school, lang, assets, path), encoding="utf-8")
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


SEGMENTS = st.sampled_from(["s", "lincoln-high", "es", "case", "assets", "index.html"])


@given(st.lists(SEGMENTS, min_size=1, max_size=5), st.lists(SEGMENTS, max_size=5))
def test_relative_links_are_those_of_relpath(to: list[str], start: list[str]) -> None:
    path, here = "/".join(to), "/".join(start)
    assert relative(path, here) == posixpath.relpath(path, here)


def test_landing_paths_put_the_first_language_at_the_school_folder(keyed: KeyedDeployment) -> None:
    assert landing_paths(keyed.deployment, school(keyed)) == {
        "en": "s/lincoln-high/index.html",
        "es": "s/lincoln-high/es/index.html",
    }


@pytest.mark.parametrize("path", PAGES)
def test_head_is_locked_down(site: Site, path: str) -> None:
    doc = page_of(site, path)
    head = [e for e in doc.elements if "head" in e.inside]
    assert head[0].attrs == {"charset": "utf-8"}
    assert head[1].attrs["http-equiv"] == "Content-Security-Policy"
    assert POLICY.fullmatch(head[1].attrs["content"]), head[1].attrs["content"]
    assert doc.one("meta", name="referrer").attrs["content"] == "no-referrer"
    assert doc.one("meta", name="robots").attrs["content"] == "noindex"
    assert not doc.all("iframe") and not doc.all("img") and not doc.all("link", rel="stylesheet")
    for element in doc.elements:
        assert "style" not in element.attrs, element
        assert not any(name.startswith("on") for name in element.attrs), element


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("path", PAGES)
def test_the_policy_allows_exactly_the_inline_code_of_the_pages(site: Site, path: str) -> None:
    """Every inline block runs because its hash is in the policy, and the policy allows no
    other inline code; the same hashes on every student page, so one header fits them all."""
    doc = page_of(site, path)
    policy = POLICY.fullmatch(
        doc.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    )
    assert policy is not None
    (style,) = doc.all("style")
    assert "head" in style.inside
    assert policy["styles"].split() == [_sha256(style.text)]
    assert style.text == (site.root / "assets" / "landing.css").read_text(encoding="utf-8")
    inline = [e for e in doc.all("script") if "src" not in e.attrs]
    allowed = policy["scripts"].split()
    # Exact copies of what the build publishes (the relay hashes those for its header).
    assert [_sha256(e.text) for e in inline] == [
        _sha256((site.root / "assets" / name).read_text(encoding="utf-8"))
        for name in (
            ("reveal.js", "page.js", "case.js")
            if "/case/" in path
            else ("reveal.js", "page.js", "app.js")
        )
    ]
    assert set(_sha256(e.text) for e in inline) <= set(allowed)
    # reveal.js, page.js, app.js and case.js: one policy for every page.
    assert len(allowed) == 4


@pytest.mark.parametrize("path", PAGES)
def test_assets_are_relative_deferred_and_pinned(site: Site, path: str) -> None:
    doc = page_of(site, path)
    names = []
    for script in doc.all("script"):
        assert "body" in script.inside and "head" not in script.inside
        if "src" not in script.attrs:
            assert not names, "the inline scripts come first: the crypto loads after them"
            continue
        assert script.text == ""
        assert set(script.attrs) == {"src", "integrity", "crossorigin", "defer"}
        assert script.attrs["crossorigin"] == "anonymous"
        names.append(_check_asset(site, path, script.attrs["src"], script.attrs["integrity"]))
    crypto = ["nacl-fast.min.js", "blake2b.js", "envelope.js", "proof.js"]
    assert names == crypto  # case.js is inline: it waits for the crypto itself
    # Fetched from the start (preload), run after the page's own code (defer at the end).
    scripts = [
        (s.attrs["src"], s.attrs["integrity"]) for s in doc.all("script") if "src" in s.attrs
    ]
    preloads = doc.all("link", rel="preload")
    assert all("head" in p.inside and p.attrs["as"] == "script" for p in preloads)
    # Before the stylesheet: the downloads start with the page's first bytes.
    after_style = doc.elements[[e.tag for e in doc.elements].index("style") :]
    assert preloads and not [e for e in after_style if e.attrs.get("rel") == "preload"]
    assert all(p.attrs["crossorigin"] == "anonymous" for p in preloads)
    assert [(p.attrs["href"], p.attrs["integrity"]) for p in preloads] == scripts
    icon = doc.one("link", rel="icon")
    assert icon.attrs["type"] == "image/svg+xml"
    assert _check_asset(site, path, icon.attrs["href"], site.assets["icon.svg"].integrity) == (
        "icon.svg"
    )


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
        ("s/lincoln-high/case/index.html", ["Call", "National Human Trafficking Hotline", "Text"]),
        (
            "s/lincoln-high/es/case/index.html",
            ["Llamar al", "Línea Nacional", "Mandar un texto al"],
        ),
    ],
)
def test_emergency_help_is_in_the_html_itself(site: Site, path: str, words: list[str]) -> None:
    doc = page_of(site, path)
    help_box = doc.one("section", class_="help")
    assert "main" in help_box.inside and "hidden" not in help_box.attrs
    links = {a.attrs["href"]: a.text for a in doc.all("a") if "section" in a.inside}
    assert links["tel:911"].split() == [*words[0].split(), "911"]
    assert links["tel:+18883737888"].split() == [*words[0].split(), "1-888-373-7888"]
    assert links["sms:233733"].split() == [*words[2].split(), "233733"]
    assert words[1] in help_box.text
    assert doc.one("h2", id="help-heading").text.strip().endswith("?")
    (noscript,) = doc.all("noscript")
    assert "JavaScript" in noscript.text


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("s/lincoln-high/index.html", ["Only a few staff", "child protection or the police"]),
        (
            "s/lincoln-high/es/index.html",
            ["Solo unas pocas", "protección de menores o a la policía"],
        ),
    ],
)
def test_who_reads_comes_with_who_they_may_have_to_tell(
    site: Site, path: str, words: list[str]
) -> None:
    """Never promise more than we give: the readers may have to bring in others."""
    intro = page_of(site, path).one("p", class_="intro").text
    assert all(w in intro for w in words), intro


def test_read_hours_are_stated_honestly(site: Site) -> None:
    en = page_of(site, "s/lincoln-high/index.html").one("p", class_="hours").text
    es = page_of(site, "s/lincoln-high/es/index.html").one("p", class_="hours").text
    assert en == (
        f"Someone reads messages Monday to Friday, 7:30{NBSP}AM to 4:30{NBSP}PM. "
        "Messages sent at other times wait until then."
    )
    assert es.startswith(
        "Alguien lee los mensajes de lunes a viernes, de 7:30 a 16:30. Los mensajes"
    )
    always = page_of(site, "s/cedar-valley-high/index.html").one("p", class_="hours").text
    assert always == "Messages are checked every day, at all hours."


@pytest.mark.parametrize(
    ("hours", "en", "es"),
    [
        (
            "mon,wed,fri 09:00-12:00",
            "Monday, Wednesday, and Friday, 9:00 AM to 12:00 PM.",
            "lunes, miércoles y viernes, de 9:00 a 12:00.",
        ),
        (
            "mon-wed,sat 00:00-23:59",
            "Monday to Wednesday and Saturday, 12:00 AM to 11:59 PM.",
            "de lunes a miércoles y sábado, de 0:00 a 23:59.",
        ),
        (
            "sat-sun 10:05-13:30",
            "Saturday and Sunday, 10:05 AM to 1:30 PM.",
            "sábado y domingo, de 10:05 a 13:30.",
        ),
        (
            "mon-sun 08:00-20:00",
            "every day, 8:00 AM to 8:00 PM.",
            "todos los días, de 8:00 a 20:00.",
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
    assert read_hours_text(read_hours, "en").replace(NBSP, " ") == f"Someone reads messages {en}"
    assert read_hours_text(read_hours, "es") == f"Alguien lee los mensajes {es}"
    assert read_hours_text(ReadHours(always=True), "es") == (
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
    # Without JavaScript nothing could be sent: the form starts hidden and a script shows it.
    assert "hidden" in form.attrs and "data-needs-js" in form.attrs
    # What app.js reads comes after the form, so none of it delays the text box.
    assert not [name for name in form.attrs if name.startswith("data-") and name != "data-needs-js"]
    data = doc.one("div", id="report-data")
    assert "hidden" in data.attrs
    assert data.attrs["data-school"] == "lincoln-high" and data.attrs["data-lang"] == "es"
    assert data.attrs["data-relay"] == RELAY
    expected = [b64u_encode(r.x25519) for r in keyed.deployment.recipients_for("lincoln-high")]
    assert data.attrs["data-recipients"].split(" ") == expected and len(expected) == 2
    catalog = load_catalogs()["es"]
    for name in SCRIPT_MESSAGES:
        assert data.attrs["data-msg-" + name.replace("_", "-")] == catalog[name]
    assert data.attrs["data-timezone"] == "America/Los_Angeles"
    assert (data.attrs["data-read-days"], data.attrs["data-read-start"]) == ("0 1 2 3 4", "07:30")
    assert data.attrs["data-read-end"] == "16:30"
    assert data.attrs["data-day-names"].split(",")[2] == "miércoles"
    assert data.attrs["data-msg-next-tomorrow"] == ("La próxima vez es mañana después de las 7:30.")
    assert data.attrs["data-msg-next-now"] == "Alguien debería leerlo hoy, antes de las 16:30."
    exit_link = doc.one("a", id="quick-exit")
    assert exit_link.attrs["data-exit-url"] == exit_link.attrs["href"] == EXIT
    assert exit_link.attrs["rel"] == "noreferrer"


def test_an_always_open_school_has_no_next_time(site: Site) -> None:
    data = page_of(site, "s/cedar-valley-high/index.html").one("div", id="report-data")
    assert data.attrs["data-read-days"] == ""
    assert not [name for name in data.attrs if name.startswith("data-msg-next")]


@pytest.mark.parametrize(
    ("page", "link", "address"),
    [
        ("s/lincoln-high/index.html", "s/lincoln-high/case/", "s/lincoln-high/case/"),
        ("s/lincoln-high/es/index.html", "s/lincoln-high/es/case/", "s/lincoln-high/es/case/"),
    ],
)
def test_the_landing_page_links_to_the_case_page(
    site: Site, keyed: KeyedDeployment, page: str, link: str, address: str
) -> None:
    doc = page_of(site, page)
    hrefs = [a.attrs["href"] for a in doc.all("a") if a.attrs.get("href", "").endswith("case/")]
    assert len(hrefs) == 2  # near the top, and in what the student reads after sending
    for href in hrefs:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page), href)) + "/"
        assert target == link and (site.root / target / "index.html").is_file()
    host = keyed.deployment.base_url.split("://")[1]
    assert doc.one("p", class_="address").text.strip() == f"{host}/{address}"


@pytest.mark.parametrize(
    ("page", "lang"),
    [("s/lincoln-high/case/index.html", "en"), ("s/lincoln-high/es/case/index.html", "es")],
)
def test_the_case_page_links_back_to_its_landing_page(site: Site, page: str, lang: str) -> None:
    link_text = load_catalogs()[lang]["no_code_link"]
    (back,) = [a for a in page_of(site, page).all("a") if a.text == link_text]
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), back.attrs["href"]))
    assert f"{target}/index.html" == page.replace("case/", "")


@pytest.mark.parametrize("page", ["s/lincoln-high/index.html", "s/lincoln-high/case/index.html"])
def test_every_control_has_a_label(site: Site, page: str) -> None:
    doc = page_of(site, page)
    label_for = {e.attrs["for"] for e in doc.all("label") if "for" in e.attrs}
    for control in [*doc.all("textarea"), *doc.all("input", type="text")]:
        assert control.attrs["id"] in label_for
    if "case" in page:
        return
    for radio in doc.all("input", type="radio"):
        assert "label" in radio.inside
    assert "Are you safe right now?" in doc.one("legend").text
    assert doc.one("p", id="status").attrs["role"] == "status"
    assert doc.one("p", id="form-error").attrs["role"] == "alert"
    assert [r.attrs["value"] for r in doc.all("input", type="radio")] == ["yes", "no", "unsure"]


def test_the_only_absolute_urls_are_the_exit_and_the_relay(site: Site) -> None:
    for path in site.root.glob("s/**/index.html"):
        html = path.read_text(encoding="utf-8")
        # Not preceded by a base64 character: an integrity hash may hold "//".
        urls = set(re.findall(r"(?<![\w+/=-])(?:https?:)?//[^\s\"'<>;]+", html))
        assert urls <= {EXIT, RELAY}, (path, urls)


def test_school_names_are_escaped(keyed: KeyedDeployment, site: Site) -> None:
    evil = school(keyed)._replace(name='<script>alert("x")</script> & Co')
    html = render_landing(keyed.deployment, evil, "en", site.assets, "s/lincoln-high/index.html")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_asset_urls_follow_the_page_depth(keyed: KeyedDeployment, site: Site) -> None:
    html = render_landing(keyed.deployment, school(keyed), "es", site.assets, "a/b/c/es/index.html")
    nacl = site.assets["nacl-fast.min.js"]
    assert f'src="../../../../assets/nacl-fast.min.js?v={nacl.version}"' in html
    assert 'href="../../../../s/lincoln-high/index.html"' in html


def test_refuses_a_language_the_deployment_does_not_offer(
    keyed: KeyedDeployment, site: Site
) -> None:
    d = dataclasses.replace(keyed.deployment, languages=("en",))
    with pytest.raises(
        LandingError, match="language 'es' is not in the languages of 'lincoln-high'"
    ):
        render_landing(d, school(keyed), "es", site.assets, "s/lincoln-high/es/index.html")


@pytest.mark.parametrize("name", ["envelope.js", "page.js", "case.js", "landing.css", "icon.svg"])
def test_refuses_when_an_asset_is_missing(keyed: KeyedDeployment, site: Site, name: str) -> None:
    assets = {k: v for k, v in site.assets.items() if k != name}
    with pytest.raises(LandingError, match=f"asset '{name}' was not built"):
        render_case(keyed.deployment, school(keyed), "en", assets, "s/lincoln-high/case/index.html")


def test_refuses_an_inline_file_that_differs_from_its_published_copy(
    keyed: KeyedDeployment, site: Site
) -> None:
    """The relay hashes the published copy for its header: the inline block must be the same."""
    assets = {**site.assets, "app.js": dataclasses.replace(site.assets["app.js"], integrity="x")}
    with pytest.raises(LandingError, match="asset 'app.js' differs from .*app.js; rebuild"):
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
    assert tuple(catalogs) == SUPPORTED_LANGUAGES
    for strings in catalogs.values():
        assert strings.keys() == catalogs["en"].keys()


def test_every_key_is_used_and_every_used_key_exists() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in (SITE_DIR / "templates").glob("*.j2"))
    used_in_templates = set(re.findall(r"\bt\.(\w+)", sources))
    landing_source = (Path(__file__).parent.parent / "builder/landing.py").read_text(
        encoding="utf-8"
    )
    keys = load_catalogs()["en"].keys()
    assert used_in_templates <= keys
    assert set(CASE_SCRIPT_MESSAGES.values()) <= keys
    for key in keys - used_in_templates - set(SCRIPT_MESSAGES):
        assert re.search(f"[\"']{key}[\"']", landing_source), f"{key} is in en.toml but unused"


def _copy_catalogs(tmp_path: Path, lang: str, edit: Callable[[str], str]) -> None:
    """Every translation file into tmp_path, with one language's text edited."""
    for other in SUPPORTED_LANGUAGES:
        text = (SITE_DIR / "i18n" / f"{other}.toml").read_text(encoding="utf-8")
        (tmp_path / f"{other}.toml").write_text(
            edit(text) if other == lang else text, encoding="utf-8"
        )


@pytest.mark.parametrize("lang", ["en", "ar", "zh-Hans"])
def test_a_key_missing_in_one_language_is_an_error(tmp_path: Path, lang: str) -> None:
    _copy_catalogs(tmp_path, lang, lambda text: re.sub(r"(?m)^safe_unsure = .*\n", "", text))
    with pytest.raises(LandingError, match=r"missing 'safe_unsure'"):
        load_catalogs(tmp_path)


@pytest.mark.parametrize(
    ("lang", "key", "old", "new", "message"),
    [
        # The school's name would be lost; the build would fail; English alone has one.
        ("zh-Hans", "title", "{school}", "学校", "zh-Hans.toml: title: has [] where en.toml"),
        ("ar", "conversation_ends", "{days}", "{day}", "ar.toml: conversation_ends: has ['day']"),
        ("en", "unsafe_note", "911", "{number}", "es.toml: unsafe_note: has [] where en.toml has"),
    ],
)
def test_a_placeholder_in_one_language_but_not_another_is_an_error(
    tmp_path: Path, lang: str, key: str, old: str, new: str, message: str
) -> None:
    def edit(text: str) -> str:
        line = re.search(f"(?m)^{key} = .*$", text)
        assert line is not None and old in line[0]
        return text.replace(line[0], line[0].replace(old, new))

    _copy_catalogs(tmp_path, lang, edit)
    with pytest.raises(LandingError, match=re.escape(message)):
        load_catalogs(tmp_path)


def test_a_translation_must_be_text(tmp_path: Path) -> None:
    _copy_catalogs(tmp_path, "vi", lambda text: "extra = 3\n" + text)
    with pytest.raises(LandingError, match="vi.toml: extra: expected text, got 3"):
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
    """Answers the page's POSTs with the statuses queued in `answers` (201 when empty), and
    its requests for a proof-of-work challenge with real ones (relay/proof.py)."""

    answers: list[int] = dataclasses.field(default_factory=list)
    posts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    bodies: list[str] = dataclasses.field(default_factory=list)
    headers: list[dict[str, str]] = dataclasses.field(default_factory=list)
    elsewhere: list[str] = dataclasses.field(default_factory=list)
    challenges: int = 0
    proofs: Proofs = dataclasses.field(default_factory=lambda: Proofs(bytes(32)))

    def handle(self, route: Route) -> None:
        request = route.request
        cors = {
            "access-control-allow-origin": "*",
            "access-control-allow-headers": "content-type, x-qd-proof",
            "access-control-allow-methods": "GET, POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return
        if request.method == "GET" and request.url.startswith(RELAY + "/api/v1/challenge?"):
            self.challenges += 1
            school = request.url.rpartition("school=")[2]
            made = self.proofs.challenge(school, 20, busy=False)
            route.fulfill(status=200, headers=cors, json=made)
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
    # It came with a solved challenge, fetched once the student started typing.
    assert visit.relay.challenges == 1
    visit.relay.proofs.check(headers["x-qd-proof"], "lincoln-high", 20)
    assert all(url.startswith((server + "/", RELAY + "/")) for url in visit.requests), (
        visit.requests
    )
    assert not visit.relay.elsewhere
    assert visit.context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "words"),
    [
        (
            "/s/lincoln-high/",
            [
                "Someone reads messages Monday to Friday",
                "Come back with this code to read the school’s answer and to add more",
                "keep it where no one else looks",
                "notes of a phone that other people use",
            ],
        ),
        (
            "/s/lincoln-high/es/",
            [
                "Alguien lee los mensajes de lunes a viernes",
                "Vuelve con este código para leer la respuesta de la escuela",
                "donde nadie más mire",
                "notas de un teléfono que otras personas usan",
            ],
        ),
    ],
)
def test_after_sending_it_says_when_how_and_where_to_come_back(
    visit: Visit, server: str, path: str, words: list[str]
) -> None:
    page = visit.page
    page.goto(server + path)
    page.fill("#what", "hello")
    page.click("#send")
    page.wait_for_selector("#case-code:not(:empty)")
    text = page.inner_text("#result").replace(NBSP, " ")
    for w in words:
        assert w in text, (w, text)
    address = page.inner_text("#result .address")
    assert address == "report.riverside.example" + path + "case/"
    page.click("#result .address a")
    page.wait_for_url(server + path + "case/")
    page.wait_for_selector("#code:visible")


# Lincoln High reads Monday to Friday, 7:30 AM to 4:30 PM, America/Los_Angeles (UTC-8 in
# November). The browser is set to Tokyo, so a page that used the phone's zone would be wrong.
@pytest.mark.browser
@pytest.mark.parametrize(
    ("now", "path", "expected"),
    [
        ("2026-11-25T18:00Z", "/s/lincoln-high/", "Someone should read it today, before 4:30 PM."),
        ("2026-11-25T14:00Z", "/s/lincoln-high/", "The next time is today after 7:30 AM."),
        ("2026-11-26T01:00Z", "/s/lincoln-high/", "The next time is tomorrow after 7:30 AM."),
        ("2026-11-28T01:00Z", "/s/lincoln-high/", "The next time is Monday after 7:30 AM."),
        ("2026-11-29T20:00Z", "/s/lincoln-high/", "The next time is tomorrow after 7:30 AM."),
        (
            "2026-11-28T01:00Z",
            "/s/lincoln-high/es/",
            "La próxima vez es el lunes después de las 7:30.",
        ),
        ("2026-11-28T01:00Z", "/s/cedar-valley-high/", ""),
    ],
)
def test_the_next_time_the_school_reads_is_in_the_school_time_zone(
    browser: Browser, server: str, now: str, path: str, expected: str
) -> None:  # noqa: F811
    context = browser.new_context(timezone_id="Asia/Tokyo")
    context.route(RELAY + "/**", FakeRelay().handle)
    page = context.new_page()
    try:
        page.clock.set_fixed_time(datetime.datetime.fromisoformat(now))
        page.goto(server + path)
        page.fill("#what", "hello")
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)")
        assert page.inner_text("#next-read").replace(NBSP, " ") == expected
        if not expected:  # an "always" school says so
            assert "every day, at all hours" in page.inner_text("#result")
    finally:
        context.close()


@pytest.mark.browser
def test_an_unreachable_relay_is_not_blamed_on_the_phone(browser: Browser, server: str) -> None:  # noqa: F811
    context = browser.new_context()
    context.route(RELAY + "/**", lambda route: route.abort("connectionrefused"))
    page = context.new_page()
    try:
        page.goto(server + "/s/lincoln-high/")
        page.fill("#what", "Please help")
        page.click("#send")
        page.wait_for_selector("#form-error:not(:empty)")
        message = page.inner_text("#form-error")
        assert "message service did not answer" in message
        assert "online" not in message and "phone" not in message
        assert page.input_value("#what") == "Please help"
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/s/lincoln-high/", "/s/lincoln-high/es/case/"])
def test_the_page_icon_is_its_own_and_nothing_is_missing(
    browser: Browser, server: str, path: str
) -> None:  # noqa: F811
    """Without an icon of its own the browser asks for /favicon.ico on every visit: a 404."""
    context = browser.new_context()
    page = context.new_page()
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.url, r.status)))
    try:
        with page.expect_response(lambda r: "/assets/icon.svg" in r.url) as icon:
            page.goto(server + path)
        assert icon.value.status == 200
        assert icon.value.headers["content-type"] == "image/svg+xml"
        page.wait_for_load_state("load")
        assert not [url for url, _ in answers if "favicon" in url]
        assert [a for a in answers if a[1] >= 400] == []
    finally:
        context.close()


@pytest.mark.browser
def test_the_page_asks_the_relay_nothing_until_the_student_types(visit: Visit) -> None:
    """A page view stays invisible to the relay: the challenge comes with the first keystroke."""
    page = visit.page
    page.wait_for_load_state("networkidle")
    assert visit.relay.challenges == 0
    assert not any(url.startswith(RELAY) for url in visit.requests)
    with page.expect_request(lambda r: r.url.startswith(RELAY + "/api/v1/challenge")) as asked:
        page.type("#what", "I")
    assert asked.value.url.endswith("?school=lincoln-high")


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
    ("status", "words"), [(429, "Too many messages"), (422, "out of date"), (413, "too long")]
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
def test_an_app_script_the_policy_refuses_is_named(
    browser: Browser,
    server: str,  # noqa: F811
    site: Site,
) -> None:
    """A page whose policy lacks app.js's hash (a host serving an older policy) says so:
    without it the send button would stay disabled, unexplained."""
    # The meta policy holds the hash as the page writes an attribute: quotes escaped.
    app_js = " " + source_hash((site.root / "assets" / "app.js").read_bytes()).replace("'", "&#39;")
    context = browser.new_context()

    def without_app_js(route: Route) -> None:
        page_html = route.fetch().text()
        assert app_js in page_html
        route.fulfill(body=page_html.replace(app_js, ""), content_type="text/html")

    context.route(server + "/s/lincoln-high/", without_app_js)
    page = context.new_page()
    try:
        page.goto(server + "/s/lincoln-high/")
        page.wait_for_selector("#form-error:not(:empty)")
        assert "did not load all the way" in page.inner_text("#form-error")
        assert page.is_visible("#what")
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
@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/s/lincoln-high/", "talk to an adult you trust"),
        ("/s/lincoln-high/es/", "habla con un adulto de confianza"),
        ("/s/lincoln-high/case/", "talk to an adult you trust"),
        ("/s/lincoln-high/es/case/", "habla con un adulto de confianza"),
    ],
)
def test_without_javascript_no_form_only_what_to_do_instead(
    browser: Browser, server: str, path: str, words: str
) -> None:  # noqa: F811
    """A student must never write it all out and then find it cannot be sent."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server + path)
        for number in ("tel:911", "sms:233733", "tel:+18883737888"):
            assert page.is_visible(f"a[href='{number}']")
        assert words in page.inner_text(".noscript")
        assert page.is_visible(".noscript")
        assert page.locator("textarea:visible, input:visible, button:visible").count() == 0
        assert page.locator("form:visible").count() == 0
        assert page.locator("a[href$='case/']:visible").count() == 0  # it could not open either
        assert page.is_visible("#quick-exit")
        footer = page.inner_text("footer")
        assert "Shift" not in footer  # the shortcut needs JavaScript
        assert "Leave this page" in footer or "Salir de esta página" in footer
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/s/lincoln-high/", "/s/lincoln-high/es/"])
def test_the_first_screen_shows_the_text_box_and_the_emergency_numbers(
    browser: Browser, server: str, path: str
) -> None:  # noqa: F811
    """A new student on a 390 x 844 phone sees where to write, and who to call, at once."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server + path)
        on_screen = """e => { const r = e.getBoundingClientRect();
                        return r.width > 0 && r.top >= 0 && r.bottom <= innerHeight; }"""
        for number in ("tel:911", "tel:+18883737888", "sms:233733"):
            assert page.locator(f"a[href='{number}']").evaluate(on_screen), number
        # The start of the text box: its top edge and three lines of it.
        top = page.locator("#what").evaluate(
            "e => [e.getBoundingClientRect().top, parseFloat(getComputedStyle(e).lineHeight)]"
        )
        assert top[0] + 3 * top[1] <= 844, top
        assert page.locator(".intro").evaluate(on_screen)
        assert page.evaluate("window.scrollY") == 0
    finally:
        context.close()


@pytest.mark.browser
def test_the_shift_hint_shows_with_javascript(visit: Visit) -> None:
    assert "press the Shift key 3 times" in visit.page.inner_text("footer")


@pytest.mark.browser
@pytest.mark.parametrize(
    "path",
    [
        "/s/lincoln-high/",
        "/s/lincoln-high/es/",
        "/s/lincoln-high/case/",
        "/s/lincoln-high/es/case/",
    ],
)
def test_fits_a_small_phone_with_big_targets(browser: Browser, server: str, path: str) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        page.goto(server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        small = page.evaluate(
            """() => [...document.querySelectorAll(
                     'a, button, label.choice, textarea, input:not([type=radio])')]
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


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 390])
@pytest.mark.parametrize("path", ["/s/lincoln-high/", "/s/lincoln-high/es/"])
def test_after_sending_the_sent_heading_is_below_the_sticky_bar(
    browser: Browser, server: str, path: str, width: int
) -> None:  # noqa: F811
    """The focus moves to what was sent; the page scrolls it clear of the bar (WCAG 2.4.11),
    however many lines the bar takes in the page's language."""
    context = browser.new_context(viewport={"width": width, "height": 640})
    context.route(RELAY + "/**", FakeRelay().handle)
    page = context.new_page()
    try:
        page.goto(server + path)
        page.fill("#what", "hello " * 400)  # a long report: the form is scrolled far down
        page.click("#send")
        page.wait_for_selector("#case-code:not(:empty)")
        bar = page.locator(".bar").evaluate("e => e.getBoundingClientRect().bottom")
        heading = page.locator("#result-heading").evaluate("e => e.getBoundingClientRect().top")
        assert bar <= heading < 640 / 2, (bar, heading)
    finally:
        context.close()
