"""The student pages: a landing page and a case page per school and language.

The landing page (``site/templates/landing.html.j2``) is where a student writes
a report; the case page (``case.html.j2``) is where they come back with the
case code to read the school's answers and add more. Both are rendered with the
strings of ``site/i18n/<lang>.toml``. Everything they link to is relative to the
page, so the built site works under any base path. The stylesheet and the
pages' own scripts are inline, allowed by their hashes (quietdoor.csp); the
crypto loads after them, same-origin with integrity hashes (builder.assets).
"""

from __future__ import annotations

import functools
import posixpath
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from builder.assets import SITE_DIR, Asset, sri
from builder.errors import BuildError
from builder.signers import current_signers, signers_json
from quietdoor.config import Deployment, ReadHours, School
from quietdoor.csp import INLINE_SCRIPTS, INLINE_STYLES, InlineCode, content_security_policy
from quietdoor.encoding import b64u_encode
from quietdoor.languages import LANGUAGES, SUPPORTED_LANGUAGES

TEMPLATE = "landing.html.j2"
CASE_TEMPLATE = "case.html.j2"
STYLESHEET = INLINE_STYLES[0]  # inline on every student page
PAGE_SCRIPT = "page.js"  # inline on every student page, before the page's own script
LANDING_SCRIPT = "app.js"
CASE_SCRIPT = "case.js"
# Preloaded from the head, run after the page's own scripts (deferred), in this order, with
# integrity hashes.
# proof.js solves the relay's proof of work; it asks the relay nothing until the student types.
CRYPTO_SCRIPTS = ("nacl-fast.min.js", "blake2b.js", "envelope.js", "proof.js")
ICON = "icon.svg"
INLINE_NAMES = (*INLINE_STYLES, *INLINE_SCRIPTS)
DAY_KEYS = ("day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun")

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
    default = deployment.languages[0]
    folder = f"s/{school.slug}"
    return {
        lang: f"{folder}/index.html" if lang == default else f"{folder}/{lang}/index.html"
        for lang in deployment.languages
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
        LANDING_SCRIPT,
        landing_paths(deployment, school),
        hours=read_hours_text(hours, strings),
        after_hours=after_hours_text(deployment, school, strings),
        urgent_hint=deployment.escalation.urgent_hint,
        case_href=page.href_to(case_paths(deployment, school)[lang]),
        case_address=_address(deployment.base_url, case_paths(deployment, school)[lang]),
        messages={name.replace("_", "-"): strings[name] for name in SCRIPT_MESSAGES}
        | next_read_messages(hours, strings),
        read_days=" ".join(str(d) for d in hours.days),
        read_start=hours.start,
        read_end=hours.end,
        day_names=",".join(strings[key] for key in DAY_KEYS),
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
        CASE_SCRIPT,
        case_paths(deployment, school),
        hours=read_hours_text(school.read_hours, strings),
        landing_href=page.href_to(landing_paths(deployment, school)[lang]),
        messages={
            name.replace("_", "-"): strings[key] for name, key in CASE_SCRIPT_MESSAGES.items()
        },
        conversation_ends=conversation_ends(deployment, strings),
        signers=signers,
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
        if lang not in deployment.languages:
            raise LandingError(
                f"language {lang!r} is not in the deployment's languages "
                f"({', '.join(deployment.languages)})"
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

    def render(self, template: str, script: str, paths: Mapping[str, str], **context: Any) -> str:
        inline = inline_code(tuple(self.assets[n].integrity for n in INLINE_NAMES))
        languages = [
            {
                "lang": other,
                "name": LANGUAGES[other].native,
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
                dir=LANGUAGES[self.lang].direction,
                t=self.strings,
                school=self.school,
                organisation=d.organisation,
                csp=_policy(d.relay_url, inline),
                style=_inline_text(STYLESHEET),
                inline_scripts=[_inline_text(PAGE_SCRIPT), _inline_text(script)],
                scripts=[
                    {"src": self.asset_url(n), "integrity": self.assets[n].integrity}
                    for n in CRYPTO_SCRIPTS
                ],
                icon=self.asset_url(ICON),
                languages=languages,
                exit_url=d.quick_exit_url,
                relay_url=d.relay_url,
                timezone=d.timezone,
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
        data = path.read_bytes()
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


def next_read_messages(hours: ReadHours, t: Strings) -> dict[str, str]:
    """The sentences that say when the school next reads; app.js picks one at send time."""
    if hours.always:
        return {}
    start, end = _clock(hours.start, t), _clock(hours.end, t)
    texts = {
        "next-now": t["next_read_now"].format(end=end),
        "next-today": t["next_read_today"].format(start=start),
        "next-tomorrow": t["next_read_tomorrow"].format(start=start),
        "next-day": t["next_read_day"].format(start=start, day="{day}"),
    }
    return {name: _sentence(text) for name, text in texts.items()}


def after_hours_text(deployment: Deployment, school: School, t: Strings) -> str:
    """What happens to a message sent outside read hours: a person on call, or it waits."""
    if school.read_hours.always:
        return ""
    if deployment.on_call_around_the_clock(school.slug):
        return t["hours_on_call"]
    return t["hours_other_times"]


def read_hours_text(hours: ReadHours, t: Strings) -> str:
    """When staff read messages, in words: "Staff read messages Monday to Friday, 7:30 a.m. …"."""
    if hours.always:
        return t["hours_always"]
    text = t["hours_days"].format(
        days=_days_text(hours.days, t), start=_clock(hours.start, t), end=_clock(hours.end, t)
    )
    return _sentence(text)


def _sentence(text: str) -> str:
    """'… 4:30 p.m..' -> '… 4:30 p.m.': the abbreviation's period ends the sentence too."""
    return text[:-1] if text.endswith("..") else text


def _days_text(days: tuple[int, ...], t: Strings) -> str:
    if len(days) == len(DAY_KEYS):
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
            parts.append(
                t["days_range"].format(first=t[DAY_KEYS[run[0]]], last=t[DAY_KEYS[run[-1]]])
            )
        else:
            parts.extend(t[DAY_KEYS[day]] for day in run)
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {t['days_and']} {parts[-1]}"


def _clock(hhmm: str, t: Strings) -> str:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    key = "clock_am" if hours < 12 else "clock_pm"
    return t[key].format(h=hours % 12 or 12, m=f"{minutes:02d}")


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
        for key, value in raw.items():
            if not isinstance(value, str) or not value.strip():
                raise LandingError(f"{path}: {key}: expected text, got {value!r}")
        catalogs[lang] = raw
    every_key = set().union(*catalogs.values())
    for lang, strings in catalogs.items():
        missing = sorted(every_key - strings.keys())
        if missing:
            raise LandingError(
                f"{i18n_dir / f'{lang}.toml'}: missing {', '.join(map(repr, missing))} "
                "(another language has it)"
            )
    return catalogs


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
