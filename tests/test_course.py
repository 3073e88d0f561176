"""The course source: every module has its parts; the site builds strictly, all same-origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.course import CourseError, load_course, parse_module
from builder.site import build_training

from .helpers import ROOT

DOCS = ROOT / "content" / "training" / "docs"
TOPICS = ["m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08"]


def test_the_course_has_eight_complete_modules() -> None:
    modules = load_course(DOCS)
    assert [m.id for m in modules] == TOPICS
    for m in modules:
        assert 5 <= m.minutes <= 10, m.id
        assert 900 <= m.words <= 2600, f"{m.id}: {m.words} words is not 5-10 minutes of reading"
        assert 3 <= len(m.questions) <= 5


def test_every_module_cites_primary_sources_and_is_in_the_nav() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    for path in sorted((DOCS / "modules").glob("*.md")):
        assert f"modules/{path.name}" in nav, f"{path.name} is not in mkdocs.yml's nav"
        sources = path.read_text().split("## Sources", 1)[1]
        assert len(re.findall(r"https://", sources)) >= 2, path.name


GOOD = """---
id: m09
title: Test module
minutes: 6
---

# Test module

## Learning objectives

- One.
- Two.

## Text

Words.

## Scenario

A scenario.

## Knowledge check

QUIZ

## Sources

- [A source](https://www.congress.gov/)
"""
QUIZ = """```quiz
? What now?
- Wrong.
  = Because.
+ Right.
  = Because.
- Wrong too.
  = Because.
```
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "09-test.md"
    path.write_text(text)
    return path


def test_a_good_module_parses(tmp_path: Path) -> None:
    module = parse_module(write(tmp_path, GOOD.replace("QUIZ", QUIZ * 3)))
    assert module.id == "m09" and module.path == "modules/09-test/"
    assert [o.correct for o in module.questions[0].options] == [False, True, False]
    assert module.questions[0].options[1].feedback == "Because."
    other = parse_module(
        write(tmp_path, GOOD.replace("QUIZ", QUIZ * 3).replace("Words.", "Other."))
    )
    assert other.version != module.version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("## Scenario\n\nA scenario.\n", ""), "'## Scenario' is missing"),
        (
            lambda t: t.replace("## Sources\n\n- [A source](https://www.congress.gov/)\n", ""),
            "'## Sources' is missing",
        ),
        (lambda t: t.replace("(https://www.congress.gov/)", ""), "link to at least one source"),
        (lambda t: t.replace("- One.\n- Two.\n", "Some prose.\n"), "as bullets"),
        (lambda t: t.replace("QUIZ", QUIZ * 2), "3 to 5 questions, not 2"),
        (lambda t: t.replace("QUIZ", QUIZ * 6), "3 to 5 questions, not 6"),
        (
            lambda t: t.replace("QUIZ", QUIZ.replace("- Wrong.", "+ Wrong.") * 3),
            "exactly one option",
        ),
        (lambda t: t.replace("QUIZ", QUIZ.replace("  = Because.\n+", "+") * 3), "has no feedback"),
        (lambda t: t.replace("QUIZ", QUIZ.replace("? What now?\n", "") * 3), "question line"),
        (lambda t: t.replace("id: m09\n", ""), "'id' is missing"),
        (lambda t: t.replace("minutes: 6", "minutes: six"), "whole number"),
    ],
)
def test_a_missing_part_fails(tmp_path: Path, change: object, message: str) -> None:
    text = change(GOOD).replace("QUIZ", QUIZ * 3)  # type: ignore[operator]
    with pytest.raises(CourseError, match=re.escape(message)):
        parse_module(write(tmp_path, text))


THIRD_PARTY = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//[^>]*>"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//"""
    r"""|url\(["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def test_site_builds_strict_and_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "training"
    build_training(DOCS.parent, out)
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 10
    for path in [*pages, *out.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = THIRD_PARTY.search(text)
        assert found is None, f"{path.relative_to(out)} loads {found.group(0)!r}"
    for module in load_course(DOCS):
        page = (out / module.path / "index.html").read_text()
        assert page.count('<pre class="quiz">') == len(module.questions), module.id
    assert (out / "search" / "search_index.json").is_file()
    assert (out / "sw.js").is_file() and (out / "assets" / "training.js").is_file()
