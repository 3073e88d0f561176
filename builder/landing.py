"""The student's landing page: one static HTML file per school and language.

The page is rendered from ``site/templates/landing.html.j2`` with the strings of
``site/i18n/<lang>.toml``. Everything it links to is relative to the page, so
the built site works under any base path, and everything it loads is same-origin
with an integrity hash (see builder.assets).
"""

from __future__ import annotations

import functools
import posixpath
import tomllib
from collections.abc import Mapping
from pathlib import Path

import jinja2

from builder.assets import SITE_DIR, Asset
from builder.errors import BuildError
from quietdoor.config import SUPPORTED_LANGUAGES, Deployment, ReadHours, School
from quietdoor.csp import content_security_policy
from quietdoor.encoding import b64u_encode

TEMPLATE = "landing.html.j2"
STYLESHEET = "landing.css"
# app.js first: deferred scripts run in order, and the form must work before the crypto arrives.
SCRIPTS = ("app.js", "nacl-fast.min.js", "blake2b.js", "envelope.js")
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
)

Strings = Mapping[str, str]


class LandingError(BuildError):
    """A landing page that cannot be rendered: a missing translation, asset or language."""


def landing_paths(deployment: Deployment, school: School) -> dict[str, str]:
    """Each language's page, relative to the site root; the first language is the default."""
    default = deployment.languages[0]
    folder = f"s/{school.slug}"
    return {
        lang: f"{folder}/index.html" if lang == default else f"{folder}/{lang}/index.html"
        for lang in deployment.languages
    }


def render_landing(
    deployment: Deployment,
    school: School,
    lang: str,
    assets: Mapping[str, Asset],
    page_path: str,
) -> str:
    """The landing page of one school in one language, as HTML text."""
    if lang not in deployment.languages:
        raise LandingError(
            f"language {lang!r} is not in the deployment's languages "
            f"({', '.join(deployment.languages)})"
        )
    missing = [name for name in (STYLESHEET, *SCRIPTS) if name not in assets]
    if missing:
        raise LandingError(f"asset {missing[0]!r} was not built; run build_assets first")
    recipients = deployment.recipients_for(school.slug)
    if not recipients:
        raise LandingError(f"no recipient reads reports for {school.slug!r}")

    catalogs = load_catalogs()
    strings = catalogs[lang]
    here = posixpath.dirname(page_path)

    def asset_url(name: str) -> str:
        asset = assets[name]
        return f"{posixpath.relpath(asset.path, here)}?v={asset.version}"

    languages = [
        {
            "lang": other,
            "name": catalogs[other]["language_name"],
            "href": posixpath.relpath(path, here),
        }
        for other, path in landing_paths(deployment, school).items()
        if other != lang
    ]
    template = _environment().get_template(TEMPLATE)
    return template.render(
        lang=lang,
        t=strings,
        school=school,
        organisation=deployment.organisation,
        csp=content_security_policy(deployment.relay_url),
        stylesheet={"href": asset_url(STYLESHEET), "integrity": assets[STYLESHEET].integrity},
        scripts=[{"src": asset_url(n), "integrity": assets[n].integrity} for n in SCRIPTS],
        languages=languages,
        exit_url=deployment.quick_exit_url,
        relay_url=deployment.relay_url,
        recipients=" ".join(b64u_encode(r.x25519) for r in recipients),
        hours=read_hours_text(school.read_hours, strings),
        messages={name.replace("_", "-"): strings[name] for name in SCRIPT_MESSAGES},
    )


def read_hours_text(hours: ReadHours, t: Strings) -> str:
    """When staff read messages, in words: "Staff read messages Monday to Friday, 7:30 a.m. …"."""
    if hours.always:
        return t["hours_always"]
    text = t["hours_days"].format(
        days=_days_text(hours.days, t), start=_clock(hours.start, t), end=_clock(hours.end, t)
    )
    # "… 4:30 p.m.." -> "… 4:30 p.m.": the abbreviation's period ends the sentence too.
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
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
