"""The course step of the build: the deployment's course source, mkdocs, and what the pages load.

``training/course.json`` is loaded by every course page, so it holds only what
every page needs: the modules and their versions, the tests, the state, the
refresher rule, the relay and the scripts. The schools are split so that the
completion page loads only what the staff member picks:

- ``training/districts.json``: every district's slug and name, and how many schools it has;
- ``training/districts/<district>.json``: that district's schools (slug and name);
- ``training/schools/<school>.json``: one school's name, district and recipients' keys.

A school's file depends only on that school and its recipients, so the builder writes
it with the school's other files (`school_entry`), and only when the school changed.
``training/items.json`` holds the scored tests' item bank as the page draws from it:
each item's question, its options in alphabetical order and a key the scorer compares
a chosen option with, never a mark of the right one; the answer key by position
(``training-answer-key.json``) goes to the print folder, for ``keytool roster
--answer-key``. The files the key tool reads again are defined in `quietdoor.course`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from builder.assets import Asset
from builder.course import Course, CourseError, load_course
from builder.course_language import CourseLanguage, write_language_source, write_page_head
from builder.course_source import write_course_source
from builder.errors import BuildError
from builder.files import write_if_changed
from builder.state_rules import StateRules, load_state_rules
from quietdoor.config import DEFAULT_REFRESHER_MONTHS, Deployment, School
from quietdoor.course import ANSWER_KEY as ANSWER_KEY
from quietdoor.course import COURSE_JSON as COURSE_JSON
from quietdoor.course import DISTRICTS_DIR as DISTRICTS_DIR
from quietdoor.course import DISTRICTS_JSON as DISTRICTS_JSON
from quietdoor.course import ITEMS_JSON as ITEMS_JSON
from quietdoor.course import SCHOOLS_DIR as SCHOOLS_DIR
from quietdoor.course import (
    AnswerKey,
    CourseFile,
    CourseModule,
    CourseScript,
    CourseState,
    CourseTest,
    DistrictEntry,
    KeyItem,
    SchoolEntry,
    SchoolName,
    answer_key_bytes,
    course_bytes,
    district_entry_bytes,
    json_bytes,
    school_entry_bytes,
)

COURSE_SCRIPTS = ("nacl-fast.min.js", "blake2b.js", "envelope.js", "proof.js")


def check_course(deployment: Deployment, training_source: Path) -> tuple[Course, StateRules]:
    """The course as checked against the deployment's state rules, and the rules."""
    rules = load_state_rules(deployment.state)
    try:
        course = load_course(training_source / "docs", rules)
    except CourseError as exc:
        raise BuildError(f"the training course is incomplete: {exc}") from None
    return course, rules


def render_training(
    training_source: Path,
    rules: StateRules,
    site_dir: Path,
    languages: tuple[CourseLanguage, ...] = (),
) -> None:
    """Render the course for the state's rules into site_dir, and each translation the
    deployment publishes (`languages`) into site_dir/<language> (the build then copies the
    files that changed into training/, beside the JSON files written there)."""
    with tempfile.TemporaryDirectory(prefix="quietdoor-course-") as tmp:
        source = Path(tmp) / "training"
        write_course_source(training_source, source, rules)
        write_page_head(source, "en", languages)
        build_training(source, site_dir)
        for language in languages:
            translated = Path(tmp) / language.code
            write_language_source(training_source, language.code, translated, rules, languages)
            build_training(translated, site_dir / language.code)


def build_training(source: Path, target: Path) -> None:
    """Render the course with mkdocs in strict mode: a broken link fails the build."""
    config = source / "mkdocs.yml"
    if not config.is_file():
        raise BuildError(f"{config}: the training site's mkdocs.yml is missing")
    result = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
        # Not --quiet: mkdocs then stops counting warnings, and --strict stops failing on them.
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(target.resolve()),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode != 0:
        detail = "\n".join(
            line
            for line in (result.stderr + result.stdout).splitlines()
            if line.startswith(("WARNING", "ERROR", "Aborted", "Error"))
        )
        raise BuildError(f"the training site did not build:\n{detail}")


def refresher_months(deployment: Deployment, rules: StateRules) -> int:
    """The state's interval when it sets one; a deployment may only make it shorter."""
    own = deployment.training.refresher_months
    if rules.refresher_months is None:
        return own or DEFAULT_REFRESHER_MONTHS
    return min(rules.refresher_months, own) if own else rules.refresher_months


def write_course_json(
    deployment: Deployment,
    course: Course,
    rules: StateRules,
    assets: dict[str, Asset],
    path: Path,
    version: str = "",
) -> None:
    """What every course page needs, and nothing per school. A translation's file gives
    the English course's `version`: a record counts the same in either language."""
    published = CourseFile(
        state=CourseState(
            code=rules.code,
            name=rules.name,
            version=rules.version,
            attestation=rules.attestations,
        ),
        refresher_months=refresher_months(deployment, rules),
        new_hire_days=deployment.training.new_hire_days,
        modules=tuple(
            CourseModule(
                id=m.id,
                title=m.title,
                version=m.version,
                path=m.path,
                minutes=m.minutes,
                questions=len(m.questions),
            )
            for m in course.modules
        ),
        tests={
            t.id: CourseTest(title=t.title, path=t.path, questions=len(course.bank.skills))
            for t in (course.pretest, course.posttest)
        },
        pass_percent=deployment.training.pass_percent,
        version=version or course_version(course),
        provider=deployment.organisation,
        school_year_starts=deployment.training.school_year_starts,
        relay_url=deployment.relay_url,
        scripts=tuple(
            CourseScript(
                src=f"../{assets[name].path}?v={assets[name].version}",
                integrity=assets[name].integrity,
            )
            for name in COURSE_SCRIPTS
        ),
    )
    write_if_changed(path, course_bytes(published))


def course_version(course: Course) -> str:
    """What a certificate names: changes with any module's version or any scored item."""
    parts = [f"{m.id}={m.version}" for m in course.modules]
    parts += [f"{i.id}={i.key()}" for i in course.bank.items]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def write_items_json(course: Course, path: Path) -> None:
    """The scored tests' items as published: nothing in them marks the right option."""
    bank = course.bank
    write_if_changed(
        path,
        json_bytes(
            {
                "skills": [
                    {"id": s.id, "title": s.title, "modules": list(s.modules)} for s in bank.skills
                ],
                "items": [
                    {
                        "id": i.id,
                        "skill": i.skill,
                        "text": i.text,
                        "options": list(i.options),
                        "key": i.key(),
                    }
                    for i in bank.items
                ],
            }
        ),
    )


def write_answer_key(deployment: Deployment, course: Course, path: Path) -> None:
    """The answer key by option position, for the print folder only."""
    key = AnswerKey(
        pass_percent=deployment.training.pass_percent,
        items={
            i.id: KeyItem(skill=i.skill, options=len(i.options), right=i.right)
            for i in course.bank.items
        },
    )
    write_if_changed(path, answer_key_bytes(key))


def write_school_index(deployment: Deployment, training_dir: Path) -> None:
    """The district list, and each district's schools, for the completion page's pickers."""
    by_district: dict[str, list[School]] = {d.slug: [] for d in deployment.districts}
    for school in deployment.schools:
        by_district[school.district].append(school)
    districts = sorted(deployment.districts, key=lambda d: d.name.casefold())
    write_if_changed(
        training_dir / DISTRICTS_JSON,
        json_bytes(
            {
                "districts": [
                    {"slug": d.slug, "name": d.name, "schools": len(by_district[d.slug])}
                    for d in districts
                    if by_district[d.slug]
                ]
            }
        ),
    )
    for district in districts:
        schools = sorted(by_district[district.slug], key=lambda s: s.name.casefold())
        if schools:
            entry = DistrictEntry(
                slug=district.slug,
                name=district.name,
                schools=tuple(SchoolName(slug=s.slug, name=s.name) for s in schools),
            )
            write_if_changed(
                training_dir / DISTRICTS_DIR / f"{district.slug}.json",
                district_entry_bytes(entry),
            )


def school_entry_path(school: School) -> str:
    """Where a school's entry goes, relative to the training folder."""
    return f"{SCHOOLS_DIR}/{school.slug}.json"


def school_entry(deployment: Deployment, school: School) -> bytes:
    """The bytes of a school's entry (the builder writes it with the school's other files)."""
    return school_entry_bytes(
        SchoolEntry(
            slug=school.slug,
            name=school.name,
            district=school.district,
            recipients=tuple(r.x25519 for r in deployment.recipients_for(school.slug)),
            timezone=deployment.timezone_of(school.slug),
        )
    )
