"""The scored tests are tests: nothing published tells the right option from the wrong ones,
a word cue scores near chance, and the roster re-scores a record with the build's answer key."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from builder.course import Question, answer_cues, load_course
from builder.course_bank import BANK, all_state_questions, load_bank
from builder.course_source import write_course_source
from builder.state_rules import load_state_rules
from builder.training import build_training, write_answer_key, write_items_json
from keytool.roster import CourseInfo, completion, people, rescore, standing
from quietdoor import payloads
from quietdoor.course import ANSWER_KEY, ITEMS_JSON, parse_answer_key

from .support.deployments import KeyedDeployment
from .support.envelopes import training_record
from .support.paths import ROOT

SOURCE = ROOT / "content" / "training"
NAMES = re.compile(r"\b(lead|report|protocol)", re.IGNORECASE)
AVOIDS = re.compile(r"\b(always|only|wait)", re.IGNORECASE)
MARGIN = 0.13  # the bound: a cue may score at most chance + 13 points
CONTEXT = 24  # characters either side of an option's text, searched for a marker
SCORED_FILES = {ITEMS_JSON, "pretest/index.html", "final-check/index.html", "course.json"}
MARKER = re.compile(r"\+\s|correct|right|true|answer|\u2713|\u2714|checked", re.IGNORECASE)


def published(out: Path) -> dict[str, str]:
    """Every page, JSON file and script of a built course, by path."""
    return {
        str(p.relative_to(out)): p.read_text(encoding="utf-8", errors="replace")
        for p in out.rglob("*")
        if p.suffix in (".html", ".json", ".js")
    }


def leaks(
    files: dict[str, str], questions: tuple[Question, ...], rationales: list[str]
) -> list[str]:
    """How the published files tell a right option from its wrong ones: a rationale shown,
    or a right option that appears more or less often than a wrong one, or beside a marker."""
    found = [
        f"{path}: a rationale" for path, text in files.items() for r in rationales if r in text
    ]
    for q in questions:
        counts = []
        for path, text in files.items():
            for form in (q.text, json.dumps(q.text)[1:-1]):
                text = text.replace(form, "")
            for n, o in enumerate(q.options):  # each option becomes a token of its number
                for form in (o.text, json.dumps(o.text)[1:-1]):
                    text = text.replace(form, f"\x00{n}\x00")
            for n in range(len(q.options)):
                for m in re.finditer(f"\x00{n}\x00", text):
                    window = text[max(0, m.start() - CONTEXT) : m.end() + CONTEXT]
                    marked = bool(MARKER.search(re.sub("\x00\\d\x00", "", window)))
                    counts.append((n, path in SCORED_FILES, marked))
        # The course teaches a state's rule in its modules: there an option may appear
        # more often, but never beside a marker.
        per_option = [
            (sum(k == n and s for k, s, _ in counts), sum(k == n and mk for k, _, mk in counts))
            for n in range(len(q.options))
        ]
        right = next(n for n, o in enumerate(q.options) if o.correct)
        if any(c != per_option[right] for c in per_option):
            found.append(f"{q.text[:50]!r}: its right option stands out {per_option}")
    return found


def rationales() -> list[str]:
    raw = tomllib.loads((SOURCE / BANK).read_text(encoding="utf-8"))
    return [" ".join(i["why"].split()) for i in raw["items"]]


@pytest.fixture(scope="module", params=["", "TX"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    rules = load_state_rules(request.param)
    tmp = tmp_path_factory.mktemp(f"course-{request.param or 'general'}")
    write_course_source(SOURCE, tmp / "src", rules)
    build_training(tmp / "src", tmp / "training")
    course = load_course(SOURCE / "docs", rules)
    write_items_json(course, tmp / "training" / ITEMS_JSON)
    return course, tmp / "training"


def test_nothing_published_marks_the_right_option(built: tuple) -> None:
    course, out = built
    files = published(out)
    assert "search/search_index.json" in files and "assets/training.js" in files
    assert ITEMS_JSON in files
    questions = course.bank.questions()
    assert leaks(files, questions, rationales()) == []
    items = json.loads(files[ITEMS_JSON])["items"]
    for item in items:  # published in alphabetical order, with a key that is no option
        assert item["options"] == sorted(item["options"], key=str.casefold)
        assert item["key"] not in item["options"] and not item["key"].isdigit()
    cues = answer_cues(questions)
    for name in ("longest", "shortest", "best_position"):
        assert getattr(cues, name) <= cues.chance + MARGIN, (name, cues)


def test_the_leak_check_sees_a_marker_and_a_rationale() -> None:
    bank = load_bank(SOURCE, load_state_rules(""))
    item = bank.items[0]
    q = item.question()
    fair = {ITEMS_JSON: json.dumps({"options": list(item.options)})}
    assert leaks(fair, (q,), rationales()) == []
    right = item.options[item.right]
    marked = {**fair, "modules/x/index.html": f"<pre class='quiz'>\n+ {right}\n</pre>"}
    assert leaks(marked, (q,), []) != []
    twice = {**fair, "pretest/index.html": right}
    assert leaks(twice, (q,), []) != []
    explained = {**fair, "search/search_index.json": rationales()[0]}
    assert leaks(explained, (q,), rationales()) != []


def test_a_word_cue_scores_near_chance_over_every_scored_item() -> None:
    questions = (*load_bank(SOURCE, load_state_rules("")).questions(), *all_state_questions(SOURCE))
    expected = chance = 0.0
    for q in questions:
        marks = [bool(NAMES.search(o.text)) + (not AVOIDS.search(o.text)) for o in q.options]
        best = [o for o, m in zip(q.options, marks, strict=True) if m == max(marks)]
        expected += sum(o.correct for o in best) / len(best)
        chance += 1 / len(q.options)
    share, chance = expected / len(questions), chance / len(questions)
    print(f"word cue {share:.1%} against chance {chance:.1%} over {len(questions)} items")
    assert share <= chance + MARGIN


@pytest.mark.parametrize("state", ["", "CA", "FL", "NY", "OH", "TX"])
def test_every_skill_has_two_items_and_every_state_items_on_its_rules(state: str) -> None:
    rules = load_state_rules(state)
    bank = load_bank(SOURCE, rules)
    counts = Counter(i.skill for i in bank.items)
    assert min(counts.values()) >= 2 and set(counts) == {s.id for s in bank.skills}
    own = [i for i in bank.items if i.skill == "state-deadline"]
    assert bool(own) == bool(state)
    for item in own:
        assert item.options[item.right] == " ".join(rules.reporting.deadline_short.split())
        assert rules.name in item.text


def answered(key_right: dict[str, int], score: int, wrong: int = 0) -> payloads.CheckResult:
    answers = tuple(
        payloads.Answer(item, right if n >= wrong else (right + 1) % 3)
        for n, (item, right) in enumerate(key_right.items())
    )
    return payloads.CheckResult(score, len(answers), "2026-11-28", (), answers)


def test_the_answer_key_re_scores_and_flags_a_forged_score(
    tmp_path: Path, deployment: KeyedDeployment
) -> None:
    course = load_course(SOURCE / "docs", load_state_rules(""))
    write_answer_key(deployment.deployment, course, tmp_path / ANSWER_KEY)
    key = parse_answer_key((tmp_path / ANSWER_KEY).read_bytes(), ANSWER_KEY)
    right = {i: k.right for i, k in list(key.items.items())[:11]}
    base = training_record("lincoln-high", "Ana Ruiz", [("m01", "2", "2026-11-28")])
    honest = dataclasses.replace(base, post=answered(right, 9, wrong=2))
    forged = dataclasses.replace(
        base, post=answered(right, 11, wrong=6), post_passed=answered(right, 11, wrong=6)
    )
    checked, problems = rescore(completion("env0", "2026-11-28", honest), key)
    assert problems == [] and checked.post is not None
    checked, problems = rescore(completion("env1", "2026-11-28", forged), key)
    assert problems == [
        "record env1: post: claims 11 of 11, the answers give 5 of 11",
        "record env1: post passed: claims 11 of 11, the answers give 5 of 11",
    ]
    assert checked.post is None and checked.post_passed is None
    (person,) = people([checked], flags={"env1": problems})
    info = CourseInfo({}, 12, 30, "", "")
    s = standing(person, info, datetime.date(2026, 12, 1))
    assert s.status != "complete" and "ANSWER KEY" in s.note
