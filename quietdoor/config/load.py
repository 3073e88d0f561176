"""Load a deployment config: the TOML file, the CSV files it names, checked into a Deployment."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quietdoor.config import csv_schools, entries
from quietdoor.config.csv_files import csv_table
from quietdoor.config.errors import ConfigError
from quietdoor.config.escalation import closures, read_escalation
from quietdoor.config.hours import is_month_day
from quietdoor.config.keys import (
    DISTRICT_KEYS,
    PAPER_SIZES,
    PLACEMENT_COLUMNS,
    PLACEMENT_KEYS,
    PLACEMENT_REQUIRED,
    RECIPIENT_KEYS,
    SCHOOL_COLUMNS,
    SCHOOL_KEYS,
    SCHOOL_REQUIRED,
    TOP_KEYS,
    TRAINING_KEYS,
)
from quietdoor.config.model import (
    Deployment,
    District,
    Placement,
    Recipient,
    School,
    TrainingSettings,
)
from quietdoor.config.reader import Reader, join
from quietdoor.languages import SUPPORTED_LANGUAGES


def load_config(path: Path | str) -> Deployment:
    """Read and validate a deployment config, raising ConfigError on any problem."""
    path = Path(path)
    with csv_schools.collector_paused():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(path, "", "file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, "", f"cannot read the file ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(path, "", f"not valid TOML ({exc})") from None
        return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path | str = "<config>") -> Deployment:
    """Check a config already parsed from TOML; ``path`` names it in messages."""
    r = Reader(path)
    r.known_keys(raw, "", TOP_KEYS)
    organisation = r.text(raw, "organisation")
    base_url = r.url(raw, "base_url")
    relay_url = r.url(raw, "relay_url")
    quick_exit_url = r.url(raw, "quick_exit_url", default="https://www.google.com/")
    timezone = r.timezone(raw, "timezone")
    languages = _languages(r, raw)
    paper = r.choice(raw, "paper", PAPER_SIZES, default="letter")

    districts = {}
    for i, d in enumerate(r.tables(raw, "districts", DISTRICT_KEYS)):
        district = District(
            slug=r.slug(d, f"districts[{i}].slug"),
            name=r.text(d, "name", f"districts[{i}]"),
            timezone=r.timezone(d, "timezone", f"districts[{i}]") if "timezone" in d else "",
            closures=closures(r, d, f"districts[{i}]"),
        )
        if district.slug in districts:
            raise ConfigError(path, f"districts[{i}].slug", f"{district.slug!r} is used twice")
        districts[district.slug] = district

    schools: dict[str, School] = {}
    school_tables = r.tables(raw, "schools", SCHOOL_KEYS)
    school_languages = {}
    for i, s in enumerate(school_tables):
        entries.add_school(r, f"schools[{i}]", s, schools, districts)
        if "languages" in s:
            school_languages[s["slug"]] = _languages(r, s, f"schools[{i}]")
    school_csv = csv_table(r, raw, "schools_csv", SCHOOL_COLUMNS, SCHOOL_REQUIRED)
    if school_csv is not None:
        csv_schools.add_csv_schools(school_csv, schools, districts)
    if not schools:
        raise ConfigError(path, "schools", "list at least one school")

    recipients = _recipients(r, raw, schools, districts)
    r.unique([x.id for x in recipients], "recipients", "id")
    r.unique_keys(recipients)

    placements: dict[tuple[str, str], Placement] = {}
    for i, p in enumerate(r.tables(raw, "placements", PLACEMENT_KEYS)):
        entries.add_placement(r, f"placements[{i}]", p, schools, placements)
    placement_csv = csv_table(r, raw, "placements_csv", PLACEMENT_COLUMNS, PLACEMENT_REQUIRED)
    if placement_csv is not None:
        for values in placement_csv.rows:
            entries.add_placement(
                placement_csv.reader,
                placement_csv.here(),
                placement_csv.table(values),
                schools,
                placements,
            )

    limits = r.relay_limits(r.table(raw, "relay"))

    training = _training(r, raw)

    notify = r.notify(r.table(raw, "notify"))
    for i, rec in enumerate(recipients):
        if rec.email and not notify.smtp:
            raise ConfigError(
                path, f"recipients[{i}].email", "set [notify] smtp and from to send email notices"
            )

    deployment = Deployment(
        organisation=organisation,
        base_url=base_url,
        relay_url=relay_url,
        languages=languages,
        quick_exit_url=quick_exit_url,
        timezone=timezone,
        districts=tuple(districts.values()),
        schools=tuple(schools.values()),
        recipients=tuple(recipients),
        placements=tuple(placements.values()),
        relay=limits,
        notify=notify,
        state=r.state(raw),
        training=training,
        paper=paper,
        escalation=read_escalation(
            r, r.table(raw, "escalation"), recipients, schools, districts, notify
        ),
        allow_draft_languages=r.boolean(raw, "allow_draft_languages", "", default=False),
        school_languages=school_languages,
    )
    csv_schools.keep_school_index(deployment, schools)
    # Only a school in a district that no recipient reads as a whole can lack a reader.
    unread = districts.keys() - {d for rec in recipients for d in rec.districts}
    for k, school in enumerate(deployment.schools if unread else ()):
        if school.district in unread and not deployment.recipients_for(school.slug):
            if k < len(school_tables) or school_csv is None:
                reader, where = r, f"schools[{k}]"
            else:
                reader, where = school_csv.reader, school_csv.where(k - len(school_tables))
            raise ConfigError(reader.path, where, f"no recipient reads reports for {school.slug!r}")
    return deployment


def _languages(r: Reader, raw: Mapping[str, Any], where: str = "") -> tuple[str, ...]:
    """The languages students are offered (the deployment's, or a school's), first the
    default; each must be translated."""
    languages = tuple(r.strings(raw, "languages", where))
    key = join(where, "languages")
    if not languages:
        raise ConfigError(r.path, key, "list at least one language")
    if len(set(languages)) < len(languages):
        raise ConfigError(r.path, key, "a language is listed twice")
    for i, lang in enumerate(languages):
        if lang not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                r.path,
                f"{key}[{i}]",
                f"{lang!r} is not translated yet (supported: {', '.join(SUPPORTED_LANGUAGES)})",
            )
    return languages


def _recipients(
    r: Reader,
    raw: Mapping[str, Any],
    schools: Mapping[str, School],
    districts: Mapping[str, District],
) -> list[Recipient]:
    """The [[recipients]] tables, each naming schools and districts that exist."""
    recipients = []
    for i, t in enumerate(r.tables(raw, "recipients", RECIPIENT_KEYS)):
        where = f"recipients[{i}]"
        rec = Recipient(
            id=r.slug(t, f"{where}.id"),
            name=r.text(t, "name", where),
            x25519=r.key(t, "x25519", where),
            ed25519=r.key(t, "ed25519", where),
            schools=tuple(r.strings(t, "schools", where, default=[])),
            districts=tuple(r.strings(t, "districts", where, default=[])),
            email=r.email(t, "email", where) if "email" in t else "",
            webhook=r.webhook(t, "webhook", where) if "webhook" in t else "",
            previous=r.previous_keys(t, where),
        )
        for j, slug in enumerate(rec.schools):
            if slug not in schools:
                raise ConfigError(r.path, f"{where}.schools[{j}]", f"no school has slug {slug!r}")
        for j, slug in enumerate(rec.districts):
            if slug not in districts:
                raise ConfigError(
                    r.path, f"{where}.districts[{j}]", f"no district has slug {slug!r}"
                )
        if not rec.schools and not rec.districts:
            raise ConfigError(r.path, where, "name the schools or districts this person reads")
        recipients.append(rec)
    return recipients


def _training(r: Reader, raw: Mapping[str, Any]) -> TrainingSettings:
    table = r.table(raw, "training")
    r.known_keys(table, "training", TRAINING_KEYS)
    refresher = table.get("refresher_months")
    return TrainingSettings(
        refresher_months=None
        if refresher is None
        else r.positive_int(table, "refresher_months", "training", 12),
        new_hire_days=r.positive_int(table, "new_hire_days", "training", 30),
        pass_percent=_percent(r, table),
        school_year_starts=_month_day(r, table),
    )


def _month_day(r: Reader, table: Mapping[str, Any]) -> str:
    if "school_year_starts" not in table:
        return ""
    value = r.text(table, "school_year_starts", "training")
    if not is_month_day(value):
        raise ConfigError(
            r.path, "training.school_year_starts", 'expected a month and day such as "08-15"'
        )
    return value


def _percent(r: Reader, table: Mapping[str, Any]) -> int:
    value = r.positive_int(table, "pass_percent", "training", 80)
    if value > 100:
        raise ConfigError(r.path, "training.pass_percent", f"expected 1 to 100, got {value}")
    return value
