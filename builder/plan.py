"""The placement plan and the readiness report: what to print, where it goes, what is missing.

Per school (``<print>/schools/<slug>/plan.html``): each placement with its id and
the files to print, a checklist for installing and for the monthly check, and
what stands in the way of a safe launch. For the whole deployment: ``plan.csv``
(one row per printed file), ``readiness.csv`` (one row per finding) and
``readiness.html``, with a page per district under ``districts/``.

Every check looks only at one school's slice of the config, through the
deployment's indexes, so the report grows linearly with the schools.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jinja2

from builder.assets import SITE_DIR
from builder.course_language import CourseLanguage
from builder.i18n import clock, day_names, review
from builder.ladder_checks import ladder_problems
from builder.landing import read_hours_text
from builder.signs import sign_files
from quietdoor.config import Deployment, ReadHours, School
from quietdoor.csvcells import cells
from quietdoor.languages import SUPPORTED_LANGUAGES, english_name

LONGEST_WAIT_HOURS = 72  # a report may wait a weekend, never longer
WEEK_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Finding:
    """One thing found by the readiness checks. A "problem" stands in the way of a safe
    launch; a "note" is worth knowing but is already handled."""

    level: str  # "problem" or "note"
    check: str  # a stable name, e.g. "single-recipient"
    district: str
    school: str  # "" for a finding about the district or the deployment
    message: str


def deployment_problems(deployment: Deployment) -> list[Finding]:
    """Findings about the deployment as a whole (its languages)."""
    unoffered = [lang for lang in SUPPORTED_LANGUAGES if lang not in deployment.offered_languages]
    missing = [
        Finding(
            "note",
            "language-missing",
            "",
            "",
            "Translated but not offered: "
            + ", ".join(f"{english_name(lang)} ({lang})" for lang in unoffered)
            + ". Students who read one of them get no page or sign in their language: "
            "add it to `languages` if your students read it.",
        )
    ]
    return (missing if unoffered else []) + draft_findings(deployment)


def draft_findings(deployment: Deployment) -> list[Finding]:
    """Every offered language nobody has reviewed (the build refuses them unless
    allow_draft_languages = true, so a report that lists one has them allowed)."""
    return [
        Finding(
            "note",
            "language-draft",
            "",
            "",
            f"{english_name(lang)} ({lang}) is a draft translation that no native speaker has "
            "checked; it is published because allow_draft_languages = true. Have it reviewed: "
            f"quietdoor-build --review-kit {lang} DIR (docs/LANGUAGES.md).",
        )
        for lang in deployment.offered_languages
        if not review(lang).publishable_as_is
    ]


def course_draft_findings(
    deployment: Deployment, languages: Sequence[CourseLanguage]
) -> list[Finding]:
    """Every translation of the staff course nobody has reviewed: published when the
    deployment allows drafts, left out (staff see the English course only) when not."""
    return [
        Finding(
            "note",
            "course-language-draft",
            "",
            "",
            f"The staff course in {lang.name} ({lang.code}) is a draft translation that no "
            "native speaker has checked; "
            + (
                "it is published because allow_draft_languages = true, and each of its pages "
                "says so."
                if deployment.allow_draft_languages
                else "it is not published, because allow_draft_languages is not true: staff "
                "see the English course only."
            )
            + f" Have it reviewed, then mark it in content/training/{lang.code}/language.toml "
            "(docs/TRAINING.md).",
        )
        for lang in languages
        if lang.review == "draft"
    ]


def district_problems(deployment: Deployment) -> list[Finding]:
    """Districts that no district recipient reads."""
    covered = {d for r in deployment.recipients for d in r.districts}
    return [
        Finding(
            "problem",
            "district-without-recipient",
            d.slug,
            "",
            "No district recipient: nobody above the schools can read their reports when a "
            "school's own reader is away or has lost a laptop. Add a [[recipients]] entry "
            f'with districts = ["{d.slug}"].',
        )
        for d in deployment.districts
        if d.slug not in covered
    ]


def school_problems(deployment: Deployment, school: School) -> list[Finding]:
    """What stands in the way of this school's safe launch, and what is worth a note."""
    found: list[Finding] = []

    def add(level: str, check: str, message: str) -> None:
        found.append(Finding(level, check, school.district, school.slug, message))

    recipients = deployment.recipients_for(school.slug)
    if len(recipients) == 1:
        add(
            "problem",
            "single-recipient",
            f"Only {recipients[0].name} can read this school's reports: one lost laptop or "
            "one absence leaves them unread. Add a second recipient for the school or its "
            "district.",
        )
    if not any(school.district in r.districts for r in recipients):
        add(
            "problem",
            "no-district-recipient",
            "No district recipient reads this school's reports, so nobody outside the school "
            "can step in. Add one for the district.",
        )
    placements = deployment.placements_for(school.slug)
    if not placements:
        add("problem", "no-placement", "No placement: students have no code to scan yet.")
    elif not any(p.private for p in placements):
        add(
            "problem",
            "no-private-placement",
            "No code in a private place (a restroom stall, a counseling or nurse's office): "
            "a student may not scan a code where others can watch. Add one with private = true.",
        )
    wait = longest_wait(school.read_hours)
    if wait is not None:
        hours, after, until = wait
        if hours > LONGEST_WAIT_HOURS:
            add(
                "problem",
                "long-wait",
                f"A report sent after {after} waits {hours} hours before anyone reads it "
                f"(until {until}). Read messages at least every weekday.",
            )
        elif hours > 24:
            add(
                "note",
                "weekend-wait",
                f"A report sent after {after} waits {hours} hours (until {until}). The landing "
                f'page and the signs say so ("{read_hours_text(school.read_hours, "en")}") '
                "and point to 911 and the hotline.",
            )
    ladder_problems(deployment, school, add)
    return found


def longest_wait(hours: ReadHours) -> tuple[int, str, str] | None:
    """The longest stretch in a week when nobody reads: (hours, from, until), or None."""
    if hours.always:
        return None
    start = _minutes(hours.start)
    end = _minutes(hours.end)
    windows = [(day * 1440 + start, day * 1440 + end) for day in hours.days]
    best = (-1, 0, 0)
    for i, (_, closes) in enumerate(windows):
        opens = windows[(i + 1) % len(windows)][0]
        gap = (opens - closes) % WEEK_MINUTES or WEEK_MINUTES
        if gap > best[0]:
            best = (gap, closes, opens)
    gap, closes, opens = best
    return round(gap / 60), _when(closes), _when(opens)


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _when(minute_of_week: int) -> str:
    minute = minute_of_week % WEEK_MINUTES
    hours, minutes = divmod(minute % 1440, 60)
    time = clock(f"{hours:02d}:{minutes:02d}", "en").replace("\u00a0", " ")
    return f"{day_names('en')[minute // 1440]} {time}"


def render_school_plan(deployment: Deployment, school: School, findings: Sequence[Finding]) -> str:
    """The school's printable placement plan, with its readiness findings."""
    district = deployment.district(school.district)
    placements = [
        {"placement": p, "files": sign_files(p, deployment.languages_for(school.slug))}
        for p in deployment.placements_for(school.slug)
    ]
    return (
        _environment()
        .get_template("plan.html.j2")
        .render(
            organisation=deployment.organisation,
            school=school,
            district=district.name if district else school.district,
            urls={
                english_name(lang): deployment.landing_url(school.slug, lang)
                for lang in deployment.languages_for(school.slug)
            },
            hours=read_hours_text(school.read_hours, "en"),
            recipients=deployment.recipients_for(school.slug),
            placements=placements,
            problems=[f for f in findings if f.level == "problem"],
            notes=[f for f in findings if f.level == "note"],
            paper="Letter" if deployment.paper == "letter" else "A4",
            languages=[english_name(lang) for lang in deployment.languages_for(school.slug)],
        )
    )


def plan_csv(deployment: Deployment) -> str:
    """Every printed file of the deployment, one row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "district",
            "school",
            "school_name",
            "placement",
            "kind",
            "private",
            "location",
            "language",
            "paper",
            "file",
            "landing_url",
        ]
    )
    for school in deployment.schools:
        for p in deployment.placements_for(school.slug):
            for lang, name in sign_files(p, deployment.languages_for(school.slug)).items():
                writer.writerow(
                    cells(
                        [
                            school.district,
                            school.slug,
                            school.name,
                            p.id,
                            p.kind,
                            "yes" if p.private else "no",
                            p.location,
                            lang,
                            deployment.paper,
                            f"schools/{school.slug}/{name}",
                            deployment.landing_url(school.slug, lang),
                        ]
                    )
                )
    return out.getvalue()


def readiness_csv(findings: Iterable[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["level", "check", "district", "school", "message"])
    for f in findings:
        writer.writerow(cells([f.level, f.check, f.district, f.school, f.message]))
    return out.getvalue()


@dataclass(frozen=True)
class DistrictReadiness:
    slug: str
    name: str
    schools: int
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> int:
        return sum(f.level == "problem" for f in self.findings)

    @property
    def schools_with_problems(self) -> int:
        return len({f.school for f in self.findings if f.school and f.level == "problem"})


def by_district(deployment: Deployment, findings: Iterable[Finding]) -> list[DistrictReadiness]:
    """Each district's schools and findings, in one pass over each."""
    grouped: dict[str, list[Finding]] = {d.slug: [] for d in deployment.districts}
    for f in findings:
        if f.district:
            grouped[f.district].append(f)
    counts: dict[str, int] = dict.fromkeys(grouped, 0)
    for school in deployment.schools:
        counts[school.district] += 1
    return [
        DistrictReadiness(d.slug, d.name, counts[d.slug], tuple(grouped[d.slug]))
        for d in deployment.districts
    ]


def render_readiness(
    organisation: str,
    deployment_findings: Sequence[Finding],
    districts: Sequence[DistrictReadiness],
) -> str:
    """The overview: the deployment's own findings, and each district's counts."""
    return (
        _environment()
        .get_template("readiness.html.j2")
        .render(
            organisation=organisation, deployment_findings=deployment_findings, districts=districts
        )
    )


def render_district(organisation: str, district: DistrictReadiness) -> str:
    """One district's page: every finding about the district and its schools."""
    return (
        _environment()
        .get_template("district.html.j2")
        .render(organisation=organisation, district=district)
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(SITE_DIR / "templates" / "print"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
