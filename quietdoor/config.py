"""The deployment config: one TOML file read by the builder, the relay and the demo.

Every bad value is reported as ``file: field: problem`` so that a person editing
the file by hand can find and fix it without reading a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import difflib
import functools
import gc
import ipaddress
import itertools
import operator
import re
import tomllib
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from quietdoor.encoding import b64u_decode, b64u_encode
from quietdoor.errors import QuietDoorError
from quietdoor.protocol import SLUG_RE

SUPPORTED_LANGUAGES = ("en", "es")
# Each state whose reporting rules the course can show has one data file here,
# named by its postal code (TX.toml); adding a state means adding a file.
STATE_RULES_DIR = Path(__file__).resolve().parent.parent / "content" / "training" / "states"
STATE_CODE_RE = re.compile(r"^[A-Z]{2}$")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^(?P<days>[a-z,-]+) (?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$")
PLACEMENT_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$")
PAPER_SIZES = ("letter", "a4")
PLACEMENT_KINDS = ("sign", "sticker")


TOP_KEYS = frozenset(
    {
        "organisation",
        "base_url",
        "relay_url",
        "languages",
        "quick_exit_url",
        "timezone",
        "notify",
        "relay",
        "districts",
        "schools",
        "recipients",
        "placements",
        "state",
        "training",
        "paper",
        "schools_csv",
        "placements_csv",
    }
)
RELAY_KEYS = frozenset(
    {
        "max_body_bytes",
        "daily_quota_per_school",
        "normal_daily_per_school",
        "header_timeout_seconds",
        "min_upload_bytes_per_second",
        "retention_days",
        "proof_of_work",
        "proof_of_work_tries",
        "address_burst",
        "address_per_minute",
        "trusted_proxies",
    }
)
# [relay] keys that are whole numbers; 0 is allowed where it turns something off.
RELAY_COUNTS = (
    "max_body_bytes",
    "daily_quota_per_school",
    "normal_daily_per_school",
    "header_timeout_seconds",
    "min_upload_bytes_per_second",
    "retention_days",
    "proof_of_work_tries",
    "address_burst",
)
RELAY_ZERO_TURNS_OFF = ("address_per_minute",)
TRAINING_KEYS = frozenset({"refresher_months", "new_hire_days"})
DISTRICT_KEYS = frozenset({"slug", "name"})
SCHOOL_KEYS = frozenset({"slug", "name", "district", "read_hours"})
RECIPIENT_KEYS = frozenset(
    {"id", "name", "x25519", "ed25519", "schools", "districts", "email", "webhook", "previous"}
)
PREVIOUS_KEYS = frozenset({"x25519", "ed25519", "until"})
NOTIFY_KEYS = frozenset({"smtp", "from", "window_minutes", "mode", "digest_at"})
NOTIFY_MODES = ("window", "digest")
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
ENV_NAME_RE = re.compile(r"env:[A-Z][A-Z0-9_]{0,63}")
EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
PLACEMENT_KEYS = frozenset({"school", "id", "location", "kind", "private"})
# Columns of the CSV files named by schools_csv and placements_csv: a table's keys, plus
# district_name, which declares a district that no [[districts]] table lists.
SCHOOL_COLUMNS = SCHOOL_KEYS | {"district_name"}
PLACEMENT_COLUMNS = PLACEMENT_KEYS
SCHOOL_REQUIRED = ("slug", "name", "district", "read_hours")
PLACEMENT_REQUIRED = ("school", "id", "location")


class ConfigError(QuietDoorError):
    """A deployment config that cannot be used; the message names file and field."""

    def __init__(self, path: Path | str, field_name: str, problem: str) -> None:
        self.path = str(path)
        self.field_name = field_name
        self.problem = problem
        where = f"{self.path}: {field_name}: " if field_name else f"{self.path}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class ReadHours:
    """When the school's inbox is read: around the clock, or some days between two times."""

    always: bool
    days: tuple[int, ...] = ()  # 0 = Monday
    start: str = ""
    end: str = ""

    def __str__(self) -> str:
        if self.always:
            return "always"
        return f"{_days_text(self.days)} {self.start}-{self.end}"


@dataclass(frozen=True)
class District:
    slug: str
    name: str


class School(NamedTuple):
    """A school; a named tuple, not a frozen dataclass, as a state's CSV makes one per row.

    Immutable all the same, and made in a third of the time: a frozen dataclass's
    field-by-field set-up was the largest single cost of a CSV row.
    """

    slug: str
    name: str
    district: str
    read_hours: ReadHours


@dataclass(frozen=True)
class PreviousKeys:
    """A recipient's keys before `keytool rotate`: still accepted up to and including `until`.

    A student's phone may hold a page that seals to the old X25519 key; the relay
    accepts such envelopes until the day passes. Notes and replies the old Ed25519
    key signed up to that day stay trusted; requests to the relay use current keys only.
    """

    x25519: bytes
    ed25519: bytes
    until: datetime.date


@dataclass(frozen=True)
class Recipient:
    """A staff member who can read a school's reports (X25519) and sign requests (Ed25519)."""

    id: str
    name: str
    x25519: bytes
    ed25519: bytes
    schools: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    email: str = ""  # where to send notices that something new arrived ("" for none)
    webhook: str = ""  # a team-chat incoming webhook for the same notices ("" for none)
    previous: tuple[PreviousKeys, ...] = ()  # keys replaced by rotation, newest first


@dataclass(frozen=True)
class Placement:
    """Where one of a school's codes hangs; ``id`` is printed on it and never reused."""

    school: str
    id: str
    location: str
    kind: str = "sign"  # "sign" (a full page) or "sticker" (a sheet of small ones)
    private: bool = False  # a place where a student can be alone: a stall, an office


@dataclass(frozen=True)
class RelayLimits:
    max_body_bytes: int = 96 * 1024
    # New cases and students' messages a school takes in a UTC day. Above the normal
    # volume the proof of work gets harder, doubling eight times by the quota.
    daily_quota_per_school: int = 500
    normal_daily_per_school: int = 50
    # Slow clients: headers within this many seconds; bodies at least this fast, on average.
    header_timeout_seconds: int = 10
    min_upload_bytes_per_second: int = 2048
    # Days a conversation stays after its last message and its fetch by every recipient.
    retention_days: int = 90
    # A proof of work with each new case (and each student message when a school is
    # busy): at normal volume, a solver makes at most this many tries.
    proof_of_work: bool = True
    proof_of_work_tries: int = 1000
    # Per network address, in memory only: a burst, then this many a minute (0: no limit).
    address_burst: int = 20
    address_per_minute: int = 10
    # Proxies whose X-Forwarded-For is believed (addresses or networks, e.g. "10.0.0.0/8").
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotifySettings:
    """Notices to staff that something new arrived: never the content, a case or an exact time.

    smtp is "" (no email) or smtp://, smtp+starttls:// or smtps:// with host and port,
    and a user name when the server asks for a login; the password comes from the
    environment variable QUIETDOOR_SMTP_PASSWORD, never from this file.
    """

    smtp: str = ""
    sender: str = ""  # the From address of notice emails
    window_minutes: float = 15.0  # one notice per recipient per fixed window
    mode: str = "window"  # "window", or "digest": one a day, at digest_at
    digest_at: str = "07:00"  # in the deployment's time zone

    @property
    def active(self) -> bool:
        return bool(self.smtp)


@dataclass(frozen=True)
class TrainingSettings:
    """How the roster judges staff training: refresher interval and the window for new hires.

    refresher_months is None when the deployment does not set it: the state's
    rule applies if the state sets one, otherwise DEFAULT_REFRESHER_MONTHS.
    """

    refresher_months: int | None = None
    new_hire_days: int = 30


DEFAULT_REFRESHER_MONTHS = 12
_RecipientsOf = dict[str, tuple[Recipient, ...]]  # by district or school slug


@dataclass(frozen=True)
class Deployment:
    organisation: str
    base_url: str
    relay_url: str
    languages: tuple[str, ...]
    quick_exit_url: str
    timezone: str  # IANA name: read hours and the days shown to students are in this zone
    districts: tuple[District, ...]
    schools: tuple[School, ...]
    recipients: tuple[Recipient, ...]
    placements: tuple[Placement, ...] = ()
    relay: RelayLimits = field(default_factory=RelayLimits)
    notify: NotifySettings = field(default_factory=NotifySettings)
    state: str = ""  # postal code whose reporting rules the course shows; "" for general text
    training: TrainingSettings = field(default_factory=TrainingSettings)
    paper: str = "letter"

    def school(self, slug: str) -> School | None:
        return self._schools_by_slug.get(slug)

    def recipients_for(self, slug: str) -> tuple[Recipient, ...]:
        """The recipients of a school: named directly, or through the school's district."""
        school = self.school(slug)
        if school is None:
            return ()
        by_district, by_school = self._recipients_index
        named = by_school.get(slug)
        return named if named is not None else by_district.get(school.district, ())

    def placements_for(self, slug: str) -> tuple[Placement, ...]:
        """A school's placements, in config order."""
        return self._placements_by_school.get(slug, ())

    def district(self, slug: str) -> District | None:
        return self._districts_by_slug.get(slug)

    @functools.cached_property
    def _districts_by_slug(self) -> dict[str, District]:
        return {d.slug: d for d in self.districts}

    @functools.cached_property
    def _placements_by_school(self) -> dict[str, tuple[Placement, ...]]:
        by_school: dict[str, list[Placement]] = {}
        for p in self.placements:
            by_school.setdefault(p.school, []).append(p)
        return {slug: tuple(ps) for slug, ps in by_school.items()}

    @functools.cached_property
    def _schools_by_slug(self) -> dict[str, School]:
        return {s.slug: s for s in self.schools}

    @functools.cached_property
    def _recipients_index(self) -> tuple[_RecipientsOf, _RecipientsOf]:
        """Recipients by district, and of each school someone names (with its district's).

        Made from the recipients alone, so it does not grow with the schools; each
        tuple is in config order.
        """
        by_district: dict[str, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        for i, r in enumerate(self.recipients):
            for district in dict.fromkeys(r.districts):
                by_district.setdefault(district, []).append(i)
            for slug in dict.fromkeys(r.schools):
                by_name.setdefault(slug, []).append(i)
        for slug, ix in by_name.items():
            school = self.school(slug)
            if school is not None:
                by_name[slug] = sorted({*ix, *by_district.get(school.district, ())})

        def recipients(index: dict[str, list[int]]) -> _RecipientsOf:
            return {key: tuple(self.recipients[i] for i in ix) for key, ix in index.items()}

        return recipients(by_district), recipients(by_name)

    def landing_url(self, slug: str, lang: str = "") -> str:
        """A school's landing page: the first language's at s/<slug>/, another's below it."""
        folder = "" if lang in ("", self.languages[0]) else f"{lang}/"
        return f"{self.base_url}/s/{slug}/{folder}"


def load_config(path: Path | str) -> Deployment:
    """Read and validate a deployment config, raising ConfigError on any problem."""
    path = Path(path)
    with _collector_paused():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(path, "", "file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, "", f"cannot read the file ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(path, "", f"not valid TOML ({exc})") from None
        return parse_config(raw, path)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a config loads, then as it was.

    A state's config leaves an object or two per school, all kept: the collector
    would walk them again and again as they pile up (a fifth of the load of
    130,000 schools) and free nothing, since a config makes no reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_config(raw: Mapping[str, Any], path: Path | str = "<config>") -> Deployment:
    r = _Reader(path)
    r.known_keys(raw, "", TOP_KEYS)
    organisation = r.text(raw, "organisation")
    base_url = r.url(raw, "base_url")
    relay_url = r.url(raw, "relay_url")
    quick_exit_url = r.url(raw, "quick_exit_url", default="https://www.google.com/")
    timezone = r.timezone(raw, "timezone")
    languages = tuple(r.strings(raw, "languages"))
    if not languages:
        raise ConfigError(path, "languages", "list at least one language")
    for i, lang in enumerate(languages):
        if lang not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                path,
                f"languages[{i}]",
                f"{lang!r} is not translated yet (supported: {', '.join(SUPPORTED_LANGUAGES)})",
            )

    paper = r.choice(raw, "paper", PAPER_SIZES, default="letter")

    districts = {}
    for i, d in enumerate(r.tables(raw, "districts", DISTRICT_KEYS)):
        district = District(
            slug=r.slug(d, f"districts[{i}].slug"), name=r.text(d, "name", f"districts[{i}]")
        )
        if district.slug in districts:
            raise ConfigError(path, f"districts[{i}].slug", f"{district.slug!r} is used twice")
        districts[district.slug] = district

    schools: dict[str, School] = {}
    school_tables = r.tables(raw, "schools", SCHOOL_KEYS)
    for i, s in enumerate(school_tables):
        _add_school(r, f"schools[{i}]", s, schools, districts)
    school_csv = _csv_table(r, raw, "schools_csv", SCHOOL_COLUMNS, SCHOOL_REQUIRED)
    if school_csv is not None:
        _add_csv_schools(school_csv, schools, districts)
    if not schools:
        raise ConfigError(path, "schools", "list at least one school")

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
                raise ConfigError(path, f"{where}.schools[{j}]", f"no school has slug {slug!r}")
        for j, slug in enumerate(rec.districts):
            if slug not in districts:
                raise ConfigError(path, f"{where}.districts[{j}]", f"no district has slug {slug!r}")
        if not rec.schools and not rec.districts:
            raise ConfigError(path, where, "name the schools or districts this person reads")
        recipients.append(rec)
    r.unique([x.id for x in recipients], "recipients", "id")
    r.unique_keys(recipients)

    placements: dict[tuple[str, str], Placement] = {}
    for i, p in enumerate(r.tables(raw, "placements", PLACEMENT_KEYS)):
        _add_placement(r, f"placements[{i}]", p, schools, placements)
    placement_csv = _csv_table(r, raw, "placements_csv", PLACEMENT_COLUMNS, PLACEMENT_REQUIRED)
    if placement_csv is not None:
        for values in placement_csv.rows:
            _add_placement(
                placement_csv.reader,
                placement_csv.here(),
                placement_csv.table(values),
                schools,
                placements,
            )

    limits = r.relay_limits(r.table(raw, "relay"))

    training_raw = r.table(raw, "training")
    r.known_keys(training_raw, "training", TRAINING_KEYS)
    refresher = training_raw.get("refresher_months")
    training = TrainingSettings(
        refresher_months=None
        if refresher is None
        else r.positive_int(training_raw, "refresher_months", "training", 12),
        new_hire_days=r.positive_int(training_raw, "new_hire_days", "training", 30),
    )

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
    )
    # The loader's own dict is the school index, already made: the same schools, in order.
    vars(deployment)["_schools_by_slug"] = schools
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


def _add_school(
    r: _Reader,
    where: str,
    s: Mapping[str, Any],
    schools: dict[str, School],
    districts: dict[str, District],
) -> None:
    """Check a [[schools]] table or CSV row and add its school, and the district a row declares."""
    school = School(
        slug=r.slug(s, _join(where, "slug")),
        name=r.text(s, "name", where),
        district=r.text(s, "district", where),
        read_hours=r.hours(s, where),
    )
    if school.district not in districts:
        if "district_name" not in s:
            raise ConfigError(
                r.path,
                _join(where, "district"),
                f"no district has slug {school.district!r} "
                "(add a [[districts]] table, or a district_name column)",
            )
        districts[school.district] = District(
            slug=r.slug(s, _join(where, "district")),
            name=r.text(s, "district_name", where),
        )
    elif "district_name" in s and s["district_name"] != districts[school.district].name:
        raise ConfigError(
            r.path,
            _join(where, "district_name"),
            f"{s['district_name']!r} differs from the name given before "
            f"({districts[school.district].name!r})",
        )
    if school.slug in schools:
        raise ConfigError(r.path, _join(where, "slug"), f"{school.slug!r} is used twice")
    schools[school.slug] = school


def _add_csv_schools(
    table: _CsvTable, schools: dict[str, School], districts: dict[str, District]
) -> None:
    """Add the schools of a CSV file's rows: a state's worth, so each row is kept cheap.

    A row that is plainly good (every cell valid as it stands, its district already
    known, its slug new) is added here directly. Any other row, the first of each
    district and any with a cell padded by spaces included, goes through _add_school
    like a [[schools]] table, which adds it or names its problem; so this path never
    decides what is an error.
    """
    column = table.header.index
    cells = operator.itemgetter(*map(column, SCHOOL_REQUIRED))
    named = column("district_name") if "district_name" in table.header else None
    new_school = functools.partial(tuple.__new__, School)  # what School() does, less a call
    is_slug = SLUG_RE.fullmatch
    # Read-hours texts already found good: a dict lookup costs half a call of the
    # cached _parse_hours, on every row.
    hours_of: dict[str, ReadHours] = {}
    for values in table.rows:
        slug, name, district, hours = cells(values)
        name = name.strip()
        known = districts.get(district)
        read_hours = hours_of.get(hours)
        if read_hours is None:
            parsed = _parse_hours(hours)
            if isinstance(parsed, ReadHours):
                hours_of[hours] = read_hours = parsed
        if (
            known is not None
            and read_hours is not None
            and name
            and slug not in schools
            and is_slug(slug)
            and (named is None or not values[named] or values[named] == known.name)
        ):
            schools[slug] = new_school((slug, name, known.slug, read_hours))
        else:
            _add_school(table.reader, table.here(), table.table(values), schools, districts)


def _add_placement(
    r: _Reader,
    where: str,
    p: Mapping[str, Any],
    schools: Mapping[str, School],
    placements: dict[tuple[str, str], Placement],
) -> None:
    """Check a [[placements]] table or CSV row and add its placement."""
    placement = Placement(
        school=r.text(p, "school", where),
        id=r.placement_id(p, where),
        location=r.text(p, "location", where),
        kind=r.choice(p, "kind", PLACEMENT_KINDS, where, default="sign"),
        private=r.boolean(p, "private", where, default=False),
    )
    if placement.school not in schools:
        raise ConfigError(
            r.path, _join(where, "school"), f"no school has slug {placement.school!r}"
        )
    if (placement.school, placement.id) in placements:
        raise ConfigError(
            r.path, _join(where, "id"), f"{placement.id!r} is used twice at {placement.school!r}"
        )
    placements[placement.school, placement.id] = placement


@dataclass(frozen=True)
class _CsvTable:
    """A CSV file named in the config: its header, then its rows as they are read."""

    reader: _Reader
    header: list[str]
    rows: _CsvRows

    def table(self, values: list[str]) -> dict[str, str]:
        """A row as a table of its cells, empty cells left out: what a TOML table would hold."""
        return {h: v for h, v in zip(self.header, values, strict=True) if v.strip()}

    def here(self) -> str:
        """Where the row last read is, for a message about it."""
        return f"line {self.rows.line}"

    def where(self, k: int) -> str:
        """Where row k (from 0) is: the file read again, as this is asked only to report."""
        rows = _CsvRows(self.reader.path)
        next(itertools.islice(rows, k + 1, None))
        return f"line {rows.line}"


class _CsvRows:
    """A CSV file's rows, read once as they are wanted and let go: never a state's file whole.

    The first row is the header as it stands ([] for an empty file). Blank lines are
    skipped; a later row of another width than the header's is an error. ``line`` is
    the line the row last handed out ends on, for messages.

    The reading generator does not hold this object (no reference cycle), so the file
    is closed as soon as the rows are dropped, also when a row's error stops the load
    while the cyclic collector is paused.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._reader: list[Any] = []  # the csv reader, once the file is open
        self._rows = _read_csv(path, self._reader)

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows

    @property
    def line(self) -> int:
        return int(self._reader[0].line_num)


def _read_csv(path: Path | str, opened: list[Any]) -> Iterator[list[str]]:
    """The rows of _CsvRows; the csv reader is put in ``opened`` for its line numbers."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            lines = csv.reader(f)
            opened.append(lines)
            header = next(lines, [])
            yield header
            width = len(header)
            for values in lines:
                if len(values) != width:
                    if not any(v.strip() for v in values):
                        continue
                    raise ConfigError(
                        path,
                        f"line {lines.line_num}",
                        f"{len(values)} cells, but the header names {width}",
                    )
                yield values
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(path, "", f"cannot read the file ({exc})") from None


def _csv_table(
    r: _Reader,
    raw: Mapping[str, Any],
    key: str,
    columns: frozenset[str],
    required: Sequence[str],
) -> _CsvTable | None:
    """The CSV file that ``key`` names (relative to the config), or None if it names none.

    The first line names the columns, in any order; a column we do not know is an
    error, like an unknown key. Each row is reported as ``line N`` of its file.
    """
    if key not in raw:
        return None
    name = r.text(raw, key)
    csv_path = Path(r.path).parent / name if not Path(name).is_absolute() else Path(name)
    if not csv_path.is_file():
        raise ConfigError(r.path, key, f"{str(csv_path)!r}: file not found")
    rows = _CsvRows(csv_path)
    header = [h.strip() for h in next(iter(rows))]
    if not any(header):
        raise ConfigError(csv_path, "line 1", "expected a header line naming the columns")
    reader = _Reader(csv_path, cells=True)
    reader.known_keys(dict.fromkeys(header), "line 1", columns)
    for column in header:
        if header.count(column) > 1:
            # Which of the two cells would count? Neither guess is safe.
            raise ConfigError(csv_path, f"line 1: {column}", "this column is named twice")
    for column in required:
        if column not in header:
            raise ConfigError(csv_path, "line 1", f"missing the column {column!r}")
    return _CsvTable(reader, header, rows)


class _Reader:
    """Typed access to raw TOML values, raising ConfigError that names the field."""

    def __init__(self, path: Path | str, cells: bool = False) -> None:
        self.path = path
        self.cells = cells  # reading a CSV file, whose cells are all text

    def _get(self, table: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
        if key in table:
            return table[key]
        if default is not None:
            return default
        raise ConfigError(self.path, _join(where, key), "missing")

    def text(
        self, table: Mapping[str, Any], key: str, where: str = "", default: str | None = None
    ) -> str:
        value = self._get(table, key, where, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.path, _join(where, key), f"expected text, got {value!r}")
        return value.strip()

    def slug(self, table: Mapping[str, Any], field_name: str) -> str:
        where, _, key = field_name.rpartition(": " if field_name.startswith("line ") else ".")
        value = self.text(table, key, where)
        if not SLUG_RE.fullmatch(value):
            raise ConfigError(
                self.path,
                field_name,
                f"{value!r} is not a valid slug (use lowercase letters, digits and hyphens)",
            )
        return value

    def url(self, table: Mapping[str, Any], key: str, default: str | None = None) -> str:
        value = self.text(table, key, "", default)
        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(self.path, key, f"{value!r} is not an absolute http(s) URL")
        if parts.scheme == "http" and not local:
            raise ConfigError(self.path, key, f"{value!r} must use https (http is for 127.0.0.1)")
        if parts.query or parts.fragment:
            raise ConfigError(self.path, key, f"{value!r} must not have a query or fragment")
        return value.rstrip("/")

    def email(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = self.text(table, key, where)
        if not EMAIL_RE.fullmatch(value):
            raise ConfigError(
                self.path, _join(where, key), f"{value!r} is not an email address like a@b.org"
            )
        return value

    def webhook(self, table: Mapping[str, Any], key: str, where: str) -> str:
        """An incoming-webhook URL, or env:NAME to read it from the environment at start.

        A webhook URL is a secret (whoever has it can post to the channel), so a
        deployment whose config is shared may keep it in the environment instead.
        """
        value = self.text(table, key, where)
        if ENV_NAME_RE.fullmatch(value):
            return value
        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and local)
        ):
            raise ConfigError(
                self.path,
                _join(where, key),
                f"{value[:60]!r} is not an https URL (http is for 127.0.0.1) or env:NAME",
            )
        return value

    def notify(self, table: Mapping[str, Any]) -> NotifySettings:
        where = "notify"
        self.known_keys(table, where, NOTIFY_KEYS)
        defaults = NotifySettings()
        smtp = self.text(table, "smtp", where) if "smtp" in table else ""
        if smtp:
            parts = urlsplit(smtp)
            if parts.scheme not in SMTP_SCHEMES or not parts.hostname or parts.password:
                raise ConfigError(
                    self.path,
                    "notify.smtp",
                    f"{smtp!r}: write smtp+starttls://user@host:587, smtps://user@host:465 or "
                    "smtp://host:25 (plain, 127.0.0.1 only); the password goes in the "
                    "environment variable QUIETDOOR_SMTP_PASSWORD, never here",
                )
            if parts.scheme == "smtp" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError(
                    self.path, "notify.smtp", f"{smtp!r}: use smtp+starttls:// or smtps://"
                )
        sender = self.email(table, "from", where) if smtp else ""
        minutes = table.get("window_minutes", defaults.window_minutes)
        if (
            not isinstance(minutes, int | float)
            or isinstance(minutes, bool)
            or not 0 < minutes <= 1440
        ):
            raise ConfigError(
                self.path,
                "notify.window_minutes",
                f"expected minutes from 0 to 1440, got {minutes!r}",
            )
        mode = table.get("mode", defaults.mode)
        if mode not in NOTIFY_MODES:
            raise ConfigError(
                self.path, "notify.mode", f"{mode!r}: expected one of {', '.join(NOTIFY_MODES)}"
            )
        digest_at = self.text(table, "digest_at", where, defaults.digest_at)
        if not re.fullmatch(r"\d\d:\d\d", digest_at) or not _valid_time(digest_at):
            raise ConfigError(
                self.path, "notify.digest_at", f"{digest_at!r}: write a time like 07:00"
            )
        return NotifySettings(
            smtp=smtp,
            sender=sender,
            window_minutes=float(minutes),
            mode=mode,
            digest_at=digest_at,
        )

    def relay_limits(self, table: Mapping[str, Any]) -> RelayLimits:
        self.known_keys(table, "relay", RELAY_KEYS)
        defaults = RelayLimits()
        counts = {
            name: self.positive_int(table, name, "relay", getattr(defaults, name))
            for name in RELAY_COUNTS
        }
        per_minute = table.get("address_per_minute", defaults.address_per_minute)
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 0:
            raise ConfigError(
                self.path,
                "relay.address_per_minute",
                f"expected a whole number (0 for no limit), got {per_minute!r}",
            )
        proof = table.get("proof_of_work", defaults.proof_of_work)
        if not isinstance(proof, bool):
            raise ConfigError(
                self.path, "relay.proof_of_work", f"expected true or false, got {proof!r}"
            )
        if counts["normal_daily_per_school"] >= counts["daily_quota_per_school"]:
            raise ConfigError(
                self.path,
                "relay.normal_daily_per_school",
                f"{counts['normal_daily_per_school']} must be below daily_quota_per_school "
                f"({counts['daily_quota_per_school']}): the proof of work gets harder in between",
            )
        proxies = self.strings(table, "trusted_proxies", "relay", default=[])
        for i, proxy in enumerate(proxies):
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    self.path,
                    f"relay.trusted_proxies[{i}]",
                    f"{proxy[:60]!r} is not an address or network like 10.0.0.5 or 10.0.0.0/8",
                ) from None
        return RelayLimits(
            **counts,
            address_per_minute=per_minute,
            proof_of_work=proof,
            trusted_proxies=tuple(proxies),
        )

    def timezone(self, table: Mapping[str, Any], key: str) -> str:
        value = self.text(table, key)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                self.path,
                key,
                f'{value!r} is not a time zone; use an IANA name such as "America/Chicago"',
            ) from None
        return value

    def strings(
        self, table: Mapping[str, Any], key: str, where: str = "", default: list[str] | None = None
    ) -> list[str]:
        value = self._get(table, key, where, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                self.path, _join(where, key), f"expected a list of text, got {value!r}"
            )
        return value

    def table(self, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        """An optional [key] table: empty when absent."""
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(self.path, key, f"expected a [{key}] table")
        return value

    def tables(
        self, table: Mapping[str, Any], key: str, known: frozenset[str]
    ) -> Sequence[Mapping[str, Any]]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(self.path, key, f"expected [[{key}]] tables")
        for i, item in enumerate(value):
            self.known_keys(item, f"{key}[{i}]", known)
        return value

    def known_keys(self, table: Mapping[str, Any], where: str, known: frozenset[str]) -> None:
        """A key we do not know is a typo until proven otherwise: name it, suggest the closest."""
        for key in sorted(set(table) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known keys: {', '.join(sorted(known))}"
            )
            what = "column" if self.cells else "key"
            raise ConfigError(self.path, _join(where, key), f"unknown {what} ({hint})")

    def key(self, table: Mapping[str, Any], key: str, where: str) -> bytes:
        value = self.text(table, key, where)
        try:
            raw = b64u_decode(value)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                self.path,
                _join(where, key),
                f"{value!r} is not a public key (expected 32 bytes in base64url, "
                "as printed by `python -m keytool init`)",
            )
        return raw

    def previous_keys(self, table: Mapping[str, Any], where: str) -> tuple[PreviousKeys, ...]:
        """`previous = [{x25519, ed25519, until}]`: keys a rotation replaced, as `rotate` prints."""
        value = table.get("previous", [])
        fname = _join(where, "previous")
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(
                self.path, fname, "expected a list of { x25519, ed25519, until } tables"
            )
        found = []
        for i, item in enumerate(value):
            here = f"{fname}[{i}]"
            self.known_keys(item, here, PREVIOUS_KEYS)
            found.append(
                PreviousKeys(
                    x25519=self.key(item, "x25519", here),
                    ed25519=self.key(item, "ed25519", here),
                    until=self.day(item, "until", here),
                )
            )
        return tuple(found)

    def day(self, table: Mapping[str, Any], key: str, where: str) -> datetime.date:
        value = self._get(table, key, where, None)
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(
            self.path, _join(where, key), f"{value!r} is not a day such as 2027-01-31"
        )

    def unique_keys(self, recipients: Sequence[Recipient]) -> None:
        """No key, current or previous, belongs to two recipients or appears twice."""
        for algorithm in ("x25519", "ed25519"):
            seen: dict[bytes, str] = {}
            for i, rec in enumerate(recipients):
                where = f"recipients[{i}]"
                keys = [(f"{where}.{algorithm}", getattr(rec, algorithm))]
                keys += [
                    (f"{where}.previous[{j}].{algorithm}", getattr(p, algorithm))
                    for j, p in enumerate(rec.previous)
                ]
                for fname, key in keys:
                    if key in seen:
                        raise ConfigError(
                            self.path,
                            fname,
                            f"{b64u_encode(key)!r} is used twice (also at {seen[key]})",
                        )
                    seen[key] = fname

    def hours(self, table: Mapping[str, Any], where: str) -> ReadHours:
        value = self.text(table, "read_hours", where)
        hours = _parse_hours(value)
        if isinstance(hours, str):
            raise ConfigError(self.path, _join(where, "read_hours"), hours)
        return hours

    def choice(
        self,
        table: Mapping[str, Any],
        key: str,
        choices: Sequence[str],
        where: str = "",
        default: str | None = None,
    ) -> str:
        value = self.text(table, key, where, default)
        if value not in choices:
            raise ConfigError(
                self.path,
                _join(where, key),
                f"{value!r} is not one of {', '.join(map(repr, choices))}",
            )
        return value

    def boolean(self, table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
        """true or false; in a CSV cell also yes, no, 1 or 0, in any case."""
        value = table.get(key, default)
        if self.cells and isinstance(value, str):
            value = _CSV_BOOLEANS.get(value.strip().lower(), value)
        if not isinstance(value, bool):
            raise ConfigError(
                self.path, _join(where, key), f"expected true or false, got {value!r}"
            )
        return value

    def placement_id(self, table: Mapping[str, Any], where: str) -> str:
        value = self.text(table, "id", where)
        if not PLACEMENT_ID_RE.match(value):
            raise ConfigError(
                self.path,
                _join(where, "id"),
                f"{value!r} is not a valid placement id (up to 24 lowercase letters, digits "
                'and hyphens, such as "b2-stalls")',
            )
        return value

    def state(self, table: Mapping[str, Any]) -> str:
        """An optional state code that must have a rules file, so a typo cannot pass silently."""
        if "state" not in table:
            return ""
        value = self.text(table, "state")
        known = known_states()
        if value in known:
            return value
        listed = ", ".join(known) or "none yet"
        fix = (
            f"to add it, write content/training/states/{value}.toml"
            if STATE_CODE_RE.match(value)
            else "use a two-letter postal code in capitals, such as TX"
        )
        raise ConfigError(
            self.path,
            "state",
            f"no state rules for {value!r} (available: {listed}); {fix}, "
            "or leave state out for the general text",
        )

    def positive_int(self, table: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(
                self.path, _join(where, key), f"expected a positive whole number, got {value!r}"
            )
        return value

    def unique(self, values: list[str], where: str, key: str) -> None:
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value in seen:
                raise ConfigError(self.path, f"{where}[{i}].{key}", f"{value!r} is used twice")
            seen.add(value)


def known_states(rules_dir: Path = STATE_RULES_DIR) -> tuple[str, ...]:
    """The postal codes that have a rules file, in order."""
    return tuple(sorted(p.stem for p in rules_dir.glob("*.toml") if STATE_CODE_RE.match(p.stem)))


_CSV_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _join(where: str, key: str) -> str:
    """``schools[2].slug`` in a TOML table; ``line 7: slug`` in a CSV file."""
    if not where:
        return key
    return f"{where}: {key}" if where.startswith("line ") else f"{where}.{key}"


@functools.lru_cache(maxsize=1024)
def _parse_hours(value: str) -> ReadHours | str:
    """The read hours of a text, or the problem with it; cached, since schools share a few."""
    if value == "always":
        return ReadHours(always=True)
    m = HOURS_RE.match(value)
    problem = (
        f'{value!r} is not understood; write "always" or days and times '
        'such as "mon-fri 08:00-16:00"'
    )
    if not m:
        return problem
    try:
        days = _parse_days(m["days"])
    except ValueError:
        return problem
    start, end = m["start"], m["end"]
    if not (_valid_time(start) and _valid_time(end) and start < end):
        return f"{value!r}: times must be 00:00-23:59, start before end"
    return ReadHours(always=False, days=days, start=start, end=end)


def _valid_time(hhmm: str) -> bool:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    return hours < 24 and minutes < 60


def _parse_days(text: str) -> tuple[int, ...]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        if b < a:
            raise ValueError(part)
        days.extend(range(a, b + 1))
    return tuple(sorted(set(days)))


def _days_text(days: tuple[int, ...]) -> str:
    runs: list[str] = []
    start = prev = days[0]
    for day in (*days[1:], None):
        if day is not None and day == prev + 1:
            prev = day
            continue
        runs.append(DAY_NAMES[start] if start == prev else f"{DAY_NAMES[start]}-{DAY_NAMES[prev]}")
        if day is not None:
            start = prev = day
    return ",".join(runs)


def dump_config(d: Deployment) -> str:
    """Write a Deployment back as TOML that load_config reads to an equal Deployment."""
    out = [
        f"organisation = {_q(d.organisation)}",
        f"base_url = {_q(d.base_url)}",
        f"relay_url = {_q(d.relay_url)}",
        f"quick_exit_url = {_q(d.quick_exit_url)}",
        f"timezone = {_q(d.timezone)}",
        f"languages = {_list(d.languages)}",
        f"paper = {_q(d.paper)}",
        "",
        "[relay]",
        *(
            f"{name} = {getattr(d.relay, name)}"
            for name in sorted((*RELAY_COUNTS, *RELAY_ZERO_TURNS_OFF))
        ),
        f"proof_of_work = {'true' if d.relay.proof_of_work else 'false'}",
        f"trusted_proxies = {_list(d.relay.trusted_proxies)}",
        "",
        "[notify]",
        *(
            [f"smtp = {_q(d.notify.smtp)}", f"from = {_q(d.notify.sender)}"]
            if d.notify.smtp
            else []
        ),
        f"window_minutes = {d.notify.window_minutes!r}",
        f"mode = {_q(d.notify.mode)}",
        f"digest_at = {_q(d.notify.digest_at)}",
        "",
        "[training]",
        f"new_hire_days = {d.training.new_hire_days}",
    ]
    if d.training.refresher_months is not None:
        out.append(f"refresher_months = {d.training.refresher_months}")
    if d.state:
        out.insert(5, f"state = {_q(d.state)}")
    for dist in d.districts:
        out += ["", "[[districts]]", f"slug = {_q(dist.slug)}", f"name = {_q(dist.name)}"]
    for s in d.schools:
        out += [
            "",
            "[[schools]]",
            f"slug = {_q(s.slug)}",
            f"name = {_q(s.name)}",
            f"district = {_q(s.district)}",
            f"read_hours = {_q(str(s.read_hours))}",
        ]
    for rec in d.recipients:
        out += ["", recipient_snippet(rec)]
    for p in d.placements:
        out += [
            "",
            "[[placements]]",
            f"school = {_q(p.school)}",
            f"id = {_q(p.id)}",
            f"location = {_q(p.location)}",
            f"kind = {_q(p.kind)}",
            f"private = {'true' if p.private else 'false'}",
        ]
    return "\n".join(out) + "\n"


def recipient_snippet(rec: Recipient) -> str:
    """The [[recipients]] table for one person, as `keytool init` and `rotate` print it."""
    lines = [
        "[[recipients]]",
        f"id = {_q(rec.id)}",
        f"name = {_q(rec.name)}",
        f"x25519 = {_q(b64u_encode(rec.x25519))}",
        f"ed25519 = {_q(b64u_encode(rec.ed25519))}",
        f"schools = {_list(rec.schools)}",
        f"districts = {_list(rec.districts)}",
        *([f"email = {_q(rec.email)}"] if rec.email else []),
        *([f"webhook = {_q(rec.webhook)}"] if rec.webhook else []),
    ]
    if rec.previous:
        lines.append("previous = [")
        lines += [
            f"  {{ x25519 = {_q(b64u_encode(p.x25519))}, "
            f"ed25519 = {_q(b64u_encode(p.ed25519))}, until = {p.until.isoformat()} }},"
            for p in rec.previous
        ]
        lines.append("]")
    return "\n".join(lines)


def _q(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"
