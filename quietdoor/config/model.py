"""The deployment as the loader returns it: frozen records, and Deployment's indexes.

The indexes (schools by slug, recipients by school, placements by school) are
made once, on first use, so that nothing per school scans every school.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from quietdoor.config.hours import ReadHours
from quietdoor.config.ladder import Calendar, Escalation


@dataclass(frozen=True)
class District:
    slug: str
    name: str
    timezone: str = ""  # IANA name; "" for the deployment's (a state spanning two zones sets it)
    closures: tuple[tuple[datetime.date, datetime.date], ...] = ()  # closed days, inclusive


class School(NamedTuple):
    """A school: a named tuple, as immutable as a frozen dataclass and much cheaper to make.

    A state's CSV makes one per row, and a frozen dataclass's field-by-field set-up
    was the largest single cost of a row (figures in bench/build_scale.py).
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
    # New cases and students' messages a school takes in a UTC day at normal difficulty;
    # above it challenges are busy (64 times the tries). Past the quota the relay
    # still accepts them (at busy difficulty) and logs a flood warning once a day.
    daily_quota_per_school: int = 500
    normal_daily_per_school: int = 50
    # The bytes of a school's stored messages past which new cases and students' updates
    # are refused (507): a flood fills this, not the disk.
    school_budget_bytes: int = 512 * 1024 * 1024
    # Slow clients: headers within this many seconds; bodies at least this fast, on average.
    header_timeout_seconds: int = 10
    min_upload_bytes_per_second: int = 2048
    # Days a conversation stays after its last message and its fetch by every recipient.
    retention_days: int = 90
    # Days after the relay first ran protocol version 2 that it still takes version-1
    # envelopes (from pages and key tools not yet upgraded); 0: never.
    v1_accept_days: int = 30
    # The UTC day (YYYY-MM-DD) the deployment moved to version 2 ("": not said). A key tool
    # counts v1_accept_days from the earlier of this and its own first version-2 run, so a
    # new install does not open a fresh window for version-1 reports a relay could forge.
    v2_since: str = ""
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
    """How the roster judges staff training: refresher interval, the window for new hires,
    and the final check's pass mark (a percentage of its items).

    refresher_months is None when the deployment does not set it: the state's
    rule applies if the state sets one, otherwise DEFAULT_REFRESHER_MONTHS.
    """

    refresher_months: int | None = None
    new_hire_days: int = 30
    pass_percent: int = 80
    school_year_starts: str = ""  # "MM-DD": California's six weeks count from it


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
    escalation: Escalation = field(default_factory=Escalation)
    # A draft translation (site/i18n/<code>.toml says so) is published only when true.
    allow_draft_languages: bool = False
    # A school's own `languages`, first its default, in place of the deployment's.
    school_languages: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def languages_for(self, slug: str) -> tuple[str, ...]:
        """The languages of a school's pages and signs: its own, or the deployment's."""
        return self.school_languages.get(slug, self.languages)

    @property
    def offered_languages(self) -> tuple[str, ...]:
        """Every language some school's pages are in, the deployment's first."""
        extra = {lang for langs in self.school_languages.values() for lang in langs}
        return (*self.languages, *sorted(extra - set(self.languages)))

    def school(self, slug: str) -> School | None:
        return self._schools_by_slug.get(slug)

    def recipient(self, recipient_id: str) -> Recipient | None:
        return self._recipients_by_id.get(recipient_id)

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

    def calendar(self, slug: str) -> Calendar:
        """A school's clock for read hours, rotas and closures: its district's time zone
        (else the deployment's) and its district's closures."""
        school = self.school(slug)
        district = self.district(school.district) if school else None
        if district is None:
            return Calendar(timezone=self.timezone)
        return Calendar(district.timezone or self.timezone, district.closures)

    def timezone_of(self, slug: str) -> str:
        """A school's time zone: its district's own, else the deployment's."""
        return self.calendar(slug).timezone

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
    def _recipients_by_id(self) -> dict[str, Recipient]:
        return {r.id: r for r in self.recipients}

    @functools.cached_property
    def _schools_by_slug(self) -> dict[str, School]:
        """Made here for a Deployment built by hand; the loader hands in its own dict."""
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
        folder = "" if lang in ("", self.languages_for(slug)[0]) else f"{lang}/"
        return f"{self.base_url}/s/{slug}/{folder}"
