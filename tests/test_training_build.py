"""The course step of the build: course.json stays small, schools are split, state rules apply."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from builder.assets import build_assets
from builder.course import CourseError, load_course
from builder.course_source import write_course_source
from builder.site import build_site
from builder.state_rules import load_state_rules
from builder.training import (
    refresher_months,
    school_entry,
    school_entry_path,
    write_course_json,
    write_school_index,
)
from quietdoor.config import Deployment, TrainingSettings
from quietdoor.course import parse_course, parse_school_entry

from .support.deployments import KeyedDeployment
from .support.paths import ROOT

TRAINING = ROOT / "content" / "training"


def with_schools(d: Deployment, extra: int) -> Deployment:
    """The example plus `extra` schools in the Riverside district (read by its district lead)."""
    template = d.schools[0]
    added = tuple(
        template._replace(slug=f"extra-{i}", name=f"Extra School {i}") for i in range(extra)
    )
    return dataclasses.replace(d, schools=d.schools + added)


def course_json(d: Deployment, tmp_path: Path) -> bytes:
    assets = build_assets(tmp_path / "assets-out")
    rules = load_state_rules(d.state)
    path = tmp_path / "course.json"
    write_course_json(d, load_course(TRAINING / "docs", rules), rules, assets, path)
    return path.read_bytes()


def test_course_json_names_no_school_and_does_not_grow_with_schools(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    small = course_json(deployment.deployment, tmp_path / "a")
    large = course_json(with_schools(deployment.deployment, 500), tmp_path / "b")
    assert small == large
    course = json.loads(small)
    assert [m["id"] for m in course["modules"]] == [f"m{n:02d}" for n in range(1, 12)]
    assert set(course["tests"]) == {"pre", "post"}
    general = load_state_rules("")
    assert course["state"] == {
        "code": "general",
        "name": "your state",
        "version": 1,
        "attestation": {"en": general.attestation, "es": general.attestation_es},
    }
    assert (course["refresher_months"], course["new_hire_days"]) == (12, 30)
    assert "lincoln-high" not in small.decode() and len(small) < 4096
    parsed = parse_course(small, "course.json")  # what the key tool's roster reads
    assert [(m.id, m.questions) for m in parsed.modules] == [
        (m["id"], m["questions"]) for m in course["modules"]
    ]
    assert parsed.state is not None and parsed.state.code == "general"


def test_schools_are_split_per_district_and_per_school(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    d = deployment.deployment
    write_school_index(d, tmp_path)
    # Each school's entry as build_school publishes it.
    for school in d.schools:
        path = tmp_path / school_entry_path(school)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(school_entry(d, school))
    districts = json.loads((tmp_path / "districts.json").read_text())
    assert districts == {
        "districts": [
            {"slug": "cedar-valley", "name": "Cedar Valley School District", "schools": 1},
            {
                "slug": "riverside-unified",
                "name": "Riverside Unified School District",
                "schools": 2,
            },
        ]
    }
    riverside = json.loads((tmp_path / "districts" / "riverside-unified.json").read_text())
    assert [s["slug"] for s in riverside["schools"]] == ["lincoln-high", "riverside-middle"]
    assert "recipients" not in json.dumps(riverside)  # keys only in the chosen school's file
    lincoln = json.loads((tmp_path / "schools" / "lincoln-high.json").read_text())
    assert lincoln["name"] == "Lincoln High School" and lincoln["district"] == "riverside-unified"
    assert len(lincoln["recipients"]) == 2  # the school's lead and the district lead
    entry = parse_school_entry((tmp_path / "schools" / "lincoln-high.json").read_bytes(), "x")
    assert entry.recipients == tuple(r.x25519 for r in d.recipients_for("lincoln-high"))
    assert entry.timezone == d.timezone_of("lincoln-high")  # the day an attestation is signed


@pytest.mark.parametrize(
    ("state", "own", "expected"),
    [
        ("", None, 12),  # nothing set: the default
        ("", 24, 24),  # the deployment's own interval
        ("OH", None, 60),  # the state's rule
        ("OH", 12, 12),  # a deployment may be stricter than its state
        ("CA", 24, 12),  # but never looser
    ],
)
def test_the_refresher_interval_follows_the_state_rule(
    deployment: KeyedDeployment, state: str, own: int | None, expected: int
) -> None:
    d = dataclasses.replace(
        deployment.deployment, state=state, training=TrainingSettings(refresher_months=own)
    )
    assert refresher_months(d, load_state_rules(state)) == expected


def test_an_unknown_state_block_is_named(tmp_path: Path) -> None:
    source = tmp_path / "course"
    shutil.copytree(TRAINING, source)
    page = source / "docs" / "index.md"
    page.write_text(page.read_text() + "\n<!-- qd:state weather -->\n")
    with pytest.raises(CourseError, match=r"index\.md: no state block 'weather'"):
        write_course_source(source, tmp_path / "out", load_state_rules(""))


def test_a_texas_build_shows_texas_rules_and_versions(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    texas = dataclasses.replace(deployment.deployment, state="TX")
    build_site(texas, tmp_path / "dist")
    course = json.loads((tmp_path / "dist" / "training" / "course.json").read_text())
    assert course["state"]["code"] == "TX"
    versions = {m["id"]: m["version"] for m in course["modules"]}
    assert versions["m04"] == "2+TX.2" and versions["m01"] == "2"
    front = (tmp_path / "dist" / "training" / "index.html").read_text()
    assert "The rules in Texas" in front and "1-800-252-5400" not in front
    checklist = (tmp_path / "dist" / "training" / "modules" / "04-reporting-protocol").joinpath(
        "index.html"
    )
    assert "1-800-252-5400" in checklist.read_text()
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert "training/schools/lincoln-high.json" in manifest["files"]
    assert "training/districts.json" in manifest["files"]


def test_the_spanish_course_follows_allow_draft_languages(
    deployment: KeyedDeployment, tmp_path: Path
) -> None:
    texas = dataclasses.replace(deployment.deployment, state="TX")
    assert texas.allow_draft_languages
    dist = tmp_path / "dist"
    build_site(texas, dist)
    english = json.loads((dist / "training" / "course.json").read_text())
    spanish = json.loads((dist / "training" / "es" / "course.json").read_text())
    assert spanish["version"] == english["version"]  # a record counts the same in either
    assert [(m["id"], m["version"]) for m in spanish["modules"]] == [
        (m["id"], m["version"]) for m in english["modules"]
    ]
    assert spanish["modules"][0]["title"] != english["modules"][0]["title"]
    assert spanish["state"]["name"] == "Texas" and spanish["scripts"] == english["scripts"]
    items = json.loads((dist / "training" / "es" / "items.json").read_text())
    assert items["skills"][0]["title"] == "Qué hace que sea trata de un menor"
    manifest = json.loads((dist / "manifest.json").read_text())
    assert {"training/es/items.json", "training/es/index.html"} <= set(manifest["files"])
    # Without drafts (and so with English student pages only) the Spanish course goes.
    strict = dataclasses.replace(
        texas, allow_draft_languages=False, languages=("en",), school_languages={}
    )
    build_site(strict, dist)
    assert not list((dist / "training" / "es").rglob("*.*"))
    front = (dist / "training" / "index.html").read_text()
    assert 'hreflang="es"' not in front
    manifest = json.loads((dist / "manifest.json").read_text())
    assert not [f for f in manifest["files"] if f.startswith("training/es/")]
