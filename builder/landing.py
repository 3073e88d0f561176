"""The student pages: a landing page and a case page per school and language.

The landing page (``site/templates/landing.html.j2``) is where a student writes
a report; the case page (``case.html.j2``) is where they come back with the
case code to read the school's answers and add more. Both are rendered with the
strings of ``site/i18n/<lang>.toml``. Everything they link to is relative to the
page, so the built site works under any base path. The stylesheet, reveal.js,
page.js and the landing page's app.js are inline, allowed by their hashes (quietdoor.csp);
and so is the case page's case.js; the crypto loads after them, deferred,
same-origin with integrity hashes (builder.assets).
"""

from __future__ import annotations

import functools
import posixpath
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from builder.assets import SITE_DIR, Asset, sri
from builder.errors import BuildError
from builder.i18n import TABLES, case_calendar, clock, day_list, day_names
from builder.signers import current_signers, signers_json
from builder.trim import trimmed
from quietdoor.config import Deployment, ReadHours, School, on_call_around_the_clock
from quietdoor.csp import INLINE_SCRIPTS, INLINE_STYLES, InlineCode, content_security_policy
from quietdoor.encoding import b64u_encode
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES

TEMPLATE = "landing.html.j2"
CASE_TEMPLATE = "case.html.j2"
STYLESHEET = INLINE_STYLES[0]  # inline on every student page
# Inline just after the page's text box (the case page's code box): shows it as soon as it has
# arrived, not when page.js, at the end of the page, runs.
REVEAL_SCRIPT = "reveal.js"
PAGE_SCRIPT = "page.js"  # inline on every student page, before the page's own script
LANDING_SCRIPT = "app.js"  # inline: the report form works before the crypto arrives
# Inline: its bytes come while the crypto's requests are on their way (a deferred file, it
# shared the link with the crypto: 0.1 s later on one bar of signal; bench/README.md). It
# waits for the crypto with page.js's whenCrypto.
CASE_SCRIPT = "case.js"
# Preloaded from the head, run after the page's own scripts (deferred), in this order, with
# integrity hashes.
# proof.js solves the relay's proof of work; it asks the relay nothing until the student types.
CRYPTO_SCRIPTS = ("nacl-fast.min.js", "blake2b.js", "envelope.js", "proof.js")
LANDING_SCRIPTS = ((PAGE_SCRIPT, LANDING_SCRIPT), CRYPTO_SCRIPTS)  # (inline, deferred)
CASE_SCRIPTS = ((PAGE_SCRIPT, CASE_SCRIPT), CRYPTO_SCRIPTS)
ICON = "icon.svg"
INLINE_NAMES = (*INLINE_STYLES, *INLINE_SCRIPTS)

# Strings that app.js shows; each becomes a data-msg-<name> attribute of the form.
SCRIPT_MESSAGES = (
    "send",
    "try_again",
    "sending",
    "getting_ready",
    "too_long",
    "not_sent",
    "offline",
    "busy",
    "outdated",
    "not_loaded",
    "keep_open",
    "not_sent_full",
)

Strings = Mapping[str, str]


class LandingError(BuildError):
    """A student page that cannot be rendered: a missing translation, asset or language."""


def landing_paths(deployment: Deployment, school: School) -> dict[str, str]:
    """Each language's page, relative to the site root; the first language is the default."""
    languages = deployment.languages_for(school.slug)
    folder = f"s/{school.slug}"
    return {
        lang: f"{folder}/index.html" if lang == languages[0] else f"{folder}/{lang}/index.html"
        for lang in languages
    }


def case_paths(deployment: Deployment, school: School) -> dict[str, str]:
    """Each language's case page: ``s/<school>/case/`` and ``s/<school>/<lang>/case/``."""
    return {
        lang: posixpath.join(posixpath.dirname(path), "case", "index.html")
        for lang, path in landing_paths(deployment, school).items()
    }


def render_landing(
    deployment: Deployment,
    school: School,
    lang: str,
    assets: Mapping[str, Asset],
    page_path: str,
) -> str:
    """The landing page of one school in one language, as HTML text."""
    page = _StudentPage(deployment, school, lang, assets, page_path)
    strings = page.strings
    hours = school.read_hours
    return page.render(
        TEMPLATE,
        LANDING_SCRIPTS,
        landing_paths(deployment, school),
        hours=read_hours_text(hours, lang),
        after_hours=after_hours_text(deployment, school, strings),
        urgent_hint=deployment.escalation.urgent_hint,
        case_href=page.href_to(case_paths(deployment, school)[lang]),
        case_address=_address(deployment.base_url, case_paths(deployment, school)[lang]),
        messages={name.replace("_", "-"): strings[name] for name in SCRIPT_MESSAGES}
        | next_read_messages(hours, lang, on_call_around_the_clock(deployment, school.slug)),
        read_days=" ".join(str(d) for d in hours.days),
        read_start=hours.start,
        read_end=hours.end,
        day_names=",".join(day_names(lang)),
        conversation_ends=conversation_ends(deployment, strings),
    )


def render_case(
    deployment: Deployment,
    school: School,
    lang: str,
    assets: Mapping[str, Asset],
    page_path: str,
    signers: str | None = None,
) -> str:
    """The case page of one school in one language: open a case with its code, read, add.

    signers: its data-signers (builder/signers.py); without the build record, the config's."""
    page = _StudentPage(deployment, school, lang, assets, page_path)
    strings = page.strings
    if signers is None:
        signers = signers_json(current_signers(deployment, school))
    return page.render(
        CASE_TEMPLATE,
        CASE_SCRIPTS,
        case_paths(deployment, school),
        hours=read_hours_text(school.read_hours, lang),
        landing_href=page.href_to(landing_paths(deployment, school)[lang]),
        messages={
            name.replace("_", "-"): strings[key] for name, key in CASE_SCRIPT_MESSAGES.items()
        },
        conversation_ends=conversation_ends(deployment, strings),
        signers=signers,
        calendar=case_calendar(lang),
    )


def conversation_ends(deployment: Deployment, strings: Strings) -> str:
    """When the relay deletes a conversation, in the student's words."""
    return strings["conversation_ends"].format(days=deployment.relay.retention_days)


# What case.js shows: data-msg-<name> attribute -> catalog key.
CASE_SCRIPT_MESSAGES = {
    "send": "add_send",
    "try_again": "try_again",
    "sending": "sending",
    "getting_ready": "getting_ready",
    "not_loaded": "not_loaded",
    "offline": "offline",
    "too_long": "too_long",
    "outdated": "outdated",
    "busy": "busy",
    "not_sent": "not_sent",
    "code_missing": "code_missing",
    "code_format": "code_format",
    "no_match": "code_no_match",
    "too_many_tries": "code_too_many_tries",
    "not_opened": "code_not_opened",
    "opening": "case_opening",
    "up_to_date": "case_up_to_date",
    "you": "thread_you",
    "school": "thread_school",
    "today": "thread_today",
    "read_on": "thread_read_on",
    "read_today": "thread_read_today",
    "not_read_yet": "thread_not_read_yet",
    "safe_question": "safe_legend",
    "safe_yes": "safe_yes",
    "safe_no": "safe_no",
    "safe_unsure": "safe_unsure",
    "more_question": "more_label",
    "add_missing": "add_missing",
    "added": "add_sent",
    "full": "add_full",
    "keep_open": "keep_open",
    "sender_unknown": "case_sender_unknown",
    "not_sent_full": "not_sent_full",
}


class _StudentPage:
    """What every student page shares: strings, policy, inline code, assets, language links."""

    def __init__(
        self,
        deployment: Deployment,
        school: School,
        lang: str,
        assets: Mapping[str, Asset],
        page_path: str,
    ) -> None:
        languages = deployment.languages_for(school.slug)
        if lang not in languages:
            raise LandingError(
                f"language {lang!r} is not in the languages of {school.slug!r} "
                f"({', '.join(languages)})"
            )
        needed = (*INLINE_NAMES, *CRYPTO_SCRIPTS, ICON)
        missing = [name for name in needed if name not in assets]
        if missing:
            raise LandingError(f"asset {missing[0]!r} was not built; run build_assets first")
        self.recipients = deployment.recipients_for(school.slug)
        if not self.recipients:
            raise LandingError(f"no recipient reads reports for {school.slug!r}")
        self.deployment = deployment
        self.school = school
        self.lang = lang
        self.assets = assets
        self.here = posixpath.dirname(page_path)
        self.catalogs = load_catalogs()
        self.strings = self.catalogs[lang]

    def href_to(self, path: str) -> str:
        """A relative link to a page's folder (``case/``), so the site works under any base."""
        return relative(posixpath.dirname(path), self.here) + "/"

    def asset_url(self, name: str) -> str:
        asset = self.assets[name]
        return f"{relative(asset.path, self.here)}?v={asset.version}"

    def render(
        self,
        template: str,
        scripts: tuple[tuple[str, ...], tuple[str, ...]],
        paths: Mapping[str, str],
        **context: Any,
    ) -> str:
        """The page, with scripts = (names inline, in order; names deferred, in order)."""
        inline_names, deferred_names = scripts
        inline = inline_code(tuple(self.assets[n].integrity for n in INLINE_NAMES))
        languages = [
            {
                "lang": other,
                "name": LANGUAGES[other].native,
                "dir": LANGUAGES[other].direction,
                "href": relative(path, self.here),
            }
            for other, path in paths.items()
            if other != self.lang
        ]
        d = self.deployment
        return (
            _environment()
            .get_template(template)
            .render(
                lang=self.lang,
                payload_lang=LANGUAGES[self.lang].payload_lang,
                dir=LANGUAGES[self.lang].direction,
                t=self.strings,
                school=self.school,
                organisation=d.organisation,
                csp=_policy(d.relay_url, inline),
                style=_inline_text(STYLESHEET),
                reveal=_inline_text(REVEAL_SCRIPT),
                inline_scripts=[_inline_text(n) for n in inline_names],
                scripts=[
                    {"src": self.asset_url(n), "integrity": self.assets[n].integrity}
                    for n in deferred_names
                ],
                icon=self.asset_url(ICON),
                languages=languages,
                exit_url=d.quick_exit_url,
                relay_url=d.relay_url,
                timezone=d.timezone_of(self.school.slug),
                recipients=" ".join(b64u_encode(r.x25519) for r in self.recipients),
                **context,
            )
        )


@functools.cache
def inline_code(integrities: tuple[str, ...]) -> InlineCode:
    """The inline blocks of every student page, checked against the published copies (of
    INLINE_NAMES, whose hashes the relay puts in its header policy)."""
    for name, integrity in zip(INLINE_NAMES, integrities, strict=True):
        if sri(_source(name)) != integrity:
            raise LandingError(f"asset {name!r} differs from {_source_path(name)}; rebuild assets")
    return InlineCode(
        styles=tuple(_source(n) for n in INLINE_STYLES),
        scripts=tuple(_source(n) for n in INLINE_SCRIPTS),
    )


@functools.cache
def _policy(relay_url: str, inline: InlineCode) -> str:
    return content_security_policy(relay_url, inline)


def relative(path: str, start: str) -> str:
    """posixpath.relpath for two paths of the site (relative, normalised, from its root),
    in a tenth of the time: that one resolves both against the working directory."""
    to, here = path.split("/"), start.split("/") if start else []
    common = 0
    for a, b in zip(to, here, strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(here) - common) + to[common:]) or "."


def _source_path(name: str) -> Path:
    return SITE_DIR / ("css" if name.endswith(".css") else "js") / name


@functools.cache
def _source(name: str) -> bytes:
    path = _source_path(name)
    try:
        data = trimmed(path, path.read_bytes())  # as published under assets/
    except OSError as exc:
        raise LandingError(f"{path}: cannot read ({exc.strerror})") from None
    text = data.decode("utf-8")
    closing = "</style" if name.endswith(".css") else "</script"
    if closing in text.lower() or "<!--" in text:
        raise LandingError(f"{path}: contains {closing!r} or '<!--', which would break inlining")
    return data


def _inline_text(name: str) -> Markup:
    """A file's text, exactly, for an inline block: its CSP hash is of these bytes."""
    return Markup(_source(name).decode("utf-8"))  # noqa: S704 - our own checked file


def _address(base_url: str, page_path: str) -> str:
    """A page's address as a student would type it: no scheme, no index.html."""
    address = f"{base_url}/{posixpath.dirname(page_path)}/"
    return address.split("://", 1)[1]


def next_read_messages(hours: ReadHours, lang: str, on_call: bool) -> dict[str, str]:
    """The sentences that say when the school next reads; app.js picks one at send time.

    on_call: a person on call is alerted at every hour outside the read hours (the
    escalation's last tier), so a message sent then does not simply wait.
    """
    if hours.always:
        return {}
    t = load_catalogs()[lang]
    start, end = clock(hours.start, lang), clock(hours.end, lang)
    texts = {
        "next-now": t["next_read_now"].format(end=end),
        "next-today": t["next_read_today"].format(start=start),
        "next-tomorrow": t["next_read_tomorrow"].format(start=start),
        "next-day": t["next_read_day"].format(start=start, day="{day}"),
    }
    if on_call:
        texts |= dict.fromkeys(("next-today", "next-tomorrow", "next-day"), t["next_read_on_call"])
    return {name: _sentence(text) for name, text in texts.items()}


def after_hours_text(deployment: Deployment, school: School, t: Strings) -> str:
    """The whole sentence after the read hours: a person on call is alerted, or it waits."""
    if school.read_hours.always:
        return ""
    if on_call_around_the_clock(deployment, school.slug):
        return t["hours_on_call"]
    return t["hours_other_times"]


def read_hours_text(hours: ReadHours, lang: str) -> str:
    """When staff read messages, in one whole sentence of the language: "Someone reads
    messages Monday to Friday, 7:30 AM to 4:30 PM." (CLDR's days, times and lists)."""
    t = load_catalogs()[lang]
    if hours.always:
        return t["hours_always"]
    text = t["hours_days"].format(
        days=_days_text(hours.days, lang, t),
        start=clock(hours.start, lang),
        end=clock(hours.end, lang),
    )
    return _sentence(text)


def _sentence(text: str) -> str:
    """'… 4:30 p.m..' -> '… 4:30 p.m.': the abbreviation's period ends the sentence too."""
    return text[:-1] if text.endswith("..") else text


def _days_text(days: tuple[int, ...], lang: str, t: Strings) -> str:
    names = day_names(lang)
    if len(days) == len(names):
        return t["days_every"]
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(t["days_range"].format(first=names[run[0]], last=names[run[-1]]))
        else:
            parts.extend(names[day] for day in run)
    return day_list(parts, lang)


@functools.cache
def load_catalogs(i18n_dir: Path = SITE_DIR / "i18n") -> dict[str, dict[str, str]]:
    """Every supported language's strings; LandingError if one lacks a key that another has."""
    catalogs: dict[str, dict[str, str]] = {}
    for lang in SUPPORTED_LANGUAGES:
        path = i18n_dir / f"{lang}.toml"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise LandingError(f"{path}: cannot read the translation ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise LandingError(f"{path}: not valid TOML ({exc})") from None
        strings: dict[str, str] = {}
        for key, value in raw.items():
            if key in TABLES and isinstance(value, dict):
                continue
            if not isinstance(value, str) or not value.strip():
                raise LandingError(f"{path}: {key}: expected text, got {value!r}")
            strings[key] = value
        catalogs[lang] = strings
    every_key = set().union(*catalogs.values())
    for lang, strings in catalogs.items():
        missing = sorted(every_key - strings.keys())
        if missing:
            raise LandingError(
                f"{i18n_dir / f'{lang}.toml'}: missing {', '.join(map(repr, missing))} "
                "(another language has it)"
            )
    _check_placeholders(i18n_dir, catalogs)
    return catalogs


def _check_placeholders(i18n_dir: Path, catalogs: Mapping[str, Strings]) -> None:
    """Every language fills the same {names} in a key: one the builder does not pass
    would fail the build, one it leaves out would lose a number or a name."""
    first, *others = catalogs
    for key, text in catalogs[first].items():
        expected = placeholders(text)
        for lang in others:
            found = placeholders(catalogs[lang][key])
            if found != expected:
                raise LandingError(
                    f"{i18n_dir / f'{lang}.toml'}: {key}: has {sorted(found)} where "
                    f"{first}.toml has {sorted(expected)}"
                )


def placeholders(text: str) -> set[str]:
    """The {names} a text fills; a stray brace counts as one, so that it is reported."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"a stray { or }"}


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(SITE_DIR / "templates"),
        autoescape=True,
        auto_reload=False,  # a build renders each template thousands of times: no stat each
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
