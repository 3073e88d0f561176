"""The course source: every module has its parts, the tests before and after ask about the
same skills, no answer can be guessed from the form of the options, and the site builds
strictly and same-origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.course import (
    SCORED_MOUNT,
    CourseError,
    Option,
    Question,
    answer_cues,
    load_course,
    parse_assessment,
    parse_module,
)
from builder.course_source import write_course_source
from builder.state_rules import load_state_rules
from builder.training import build_training

from .support.paths import ROOT

DOCS = ROOT / "content" / "training" / "docs"
TOPICS = [f"m{n:02d}" for n in range(1, 12)]


def test_the_course_has_eleven_complete_modules_and_two_tests() -> None:
    course = load_course(DOCS)
    assert [m.id for m in course.modules] == TOPICS
    for m in course.modules:
        assert 5 <= m.minutes <= 10, m.id
        assert 900 <= m.words <= 2600, f"{m.id}: {m.words} words is not 5-10 minutes of reading"
        assert 3 <= len(m.questions) <= 5
    assert len(course.bank.skills) >= 10 and len(course.bank.items) >= 2 * len(course.bank.skills)


# The measure of fairness, over every question a staff member answers (module checks and
# both tests): a strategy that ignores the question (always pick the longest option, the
# shortest, or the one in a fixed written position) must not score more than 10 points
# above a blind guess, nor (for length) more than 15 points below it, which would let a
# reader rule options out by their length. The right option is, on average, within 15%
# of the length of the wrong ones. Before issue 10 the longest option was right in 94% of
# the questions against 32% by chance, and was 2.06 times as long as the wrong ones.
ABOVE_CHANCE = 0.10
BELOW_CHANCE = 0.15
LENGTH_RATIO = (0.85, 1.15)


def test_no_option_length_or_position_gives_the_answer_away() -> None:
    cues = answer_cues(load_course(DOCS).questions)
    assert cues.questions >= 60
    for name in ("longest", "shortest"):
        share = getattr(cues, name)
        assert cues.chance - BELOW_CHANCE <= share <= cues.chance + ABOVE_CHANCE, (name, cues)
    assert cues.best_position <= cues.chance + ABOVE_CHANCE, cues
    assert LENGTH_RATIO[0] <= cues.length_ratio <= LENGTH_RATIO[1], cues


def question(*lengths: int, right: int) -> Question:
    return Question(
        text="?",
        options=tuple(Option("x" * n, i == right, "because") for i, n in enumerate(lengths)),
    )


def test_the_fairness_measure_sees_a_length_cue() -> None:
    """The measure can fail: a course whose right answer is always longest is caught."""
    cued = answer_cues([question(40, 90, 50, right=1), question(90, 40, 45, right=0)] * 5)
    assert cued.longest == 1.0 and cued.shortest == 0.0 and cued.best_position == 0.5
    assert cued.longest > cued.chance + ABOVE_CHANCE
    assert cued.length_ratio > LENGTH_RATIO[1]
    tie = answer_cues([question(50, 50, 40, right=0)])
    assert tie.longest == 0.5  # a tie for longest is a coin toss between them


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
version: 3
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
    assert module.version == "3" and module.state_blocks == ()


def test_the_author_sets_the_version_and_state_rules_add_theirs(tmp_path: Path) -> None:
    text = GOOD.replace("QUIZ", QUIZ * 3)
    typo_fixed = parse_module(write(tmp_path, text.replace("Words.", "Wording.")))
    assert typo_fixed.version == "3"  # a typo fix sends nobody back to re-read
    raised = parse_module(write(tmp_path, text.replace("version: 3", "version: 4")))
    assert raised.version == "4"
    with_rules = text.replace("Words.", "Words.\n\n<!-- qd:state reporting -->\n")
    tx_rules, oh_rules = load_state_rules("TX"), load_state_rules("OH")
    texas = parse_module(write(tmp_path, with_rules), tx_rules)
    ohio = parse_module(write(tmp_path, with_rules), oh_rules)
    # each state's own version, so that raising a state file does not break this check
    assert (texas.version, ohio.version) == (
        f"3+TX.{tx_rules.version}",
        f"3+OH.{oh_rules.version}",
    )
    assert texas.state_blocks == ("reporting",)


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
        (lambda t: t.replace("version: 3\n", ""), "'version' is missing"),
        (lambda t: t.replace("version: 3", "version: 0"), "'version' must be a whole number"),
        (lambda t: t.replace("id: m09", "id: intro"), "must look like m01"),
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


TEST_PAGE = """---
id: pre
title: Before
---

BODY
"""


@pytest.mark.parametrize(
    ("body", "expected", "message"),
    [
        (SCORED_MOUNT, "post", "id must be 'post'"),
        (QUIZ, "pre", "items go in the item bank"),
        ("Nothing here.", "pre", 'needs <div id="qd-scored">'),
    ],
)
def test_a_scored_test_page_holds_no_question_of_its_own(
    tmp_path: Path, body: str, expected: str, message: str
) -> None:
    page = tmp_path / "pretest.md"
    page.write_text(TEST_PAGE.replace("BODY", SCORED_MOUNT))
    assert parse_assessment(page, "pre").path == "pretest/"
    page.write_text(TEST_PAGE.replace("BODY", body))
    with pytest.raises(CourseError, match=re.escape(message)):
        parse_assessment(page, expected)


def test_site_builds_strict_and_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "training"
    write_course_source(DOCS.parent, tmp_path / "src", load_state_rules(""))
    build_training(tmp_path / "src", out)
    pages = list(out.rglob("*.html"))
    assert len(pages) >= 10
    for path in [*pages, *out.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = THIRD_PARTY.search(text)
        assert found is None, f"{path.relative_to(out)} loads {found.group(0)!r}"
    course = load_course(DOCS)
    for page_of in course.modules:
        page = (out / page_of.path / "index.html").read_text()
        assert page.count('<pre class="quiz">') == len(page_of.questions), page_of.path
    for scored in (course.pretest, course.posttest):
        page = (out / scored.path / "index.html").read_text()
        assert '<pre class="quiz">' not in page and SCORED_MOUNT in page
    assert (out / "search" / "search_index.json").is_file()
    assert (out / "sw.js").is_file() and (out / "assets" / "training.js").is_file()
