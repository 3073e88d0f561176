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

from builder.course import CourseError, Question, answer_cues, load_course
from builder.course_bank import BANK, all_state_questions, load_bank, option_key
from builder.course_language import translated_course, write_language_source
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
# Words a test-wise guesser favours (naming the lead, a report, the protocol) or avoids
# (absolutes, waiting), in each language the items are published in.
NAMES = {
    "en": re.compile(r"\b(lead|report|protocol)", re.IGNORECASE),
    "es": re.compile(r"\b(responsable|denunci|protocolo)", re.IGNORECASE),
}
AVOIDS = {
    "en": re.compile(r"\b(always|only|wait)", re.IGNORECASE),
    "es": re.compile(r"\b(siempre|solo|esper)", re.IGNORECASE),
}
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


def forms(text: str) -> tuple[str, ...]:
    """A text as a page or a JSON file may hold it (non-ASCII escaped or not)."""
    return (text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1])


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
            for form in forms(q.text):
                text = text.replace(form, "")
            for n, o in enumerate(q.options):  # each option becomes a token of its number
                for form in forms(o.text):
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


@pytest.fixture(scope="module", params=[("", "en"), ("TX", "en"), ("", "es"), ("TX", "es")])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    state, language = request.param
    rules = load_state_rules(state)
    tmp = tmp_path_factory.mktemp(f"course-{state or 'general'}-{language}")
    course = english = load_course(SOURCE / "docs", rules)
    if language == "en":
        write_course_source(SOURCE, tmp / "src", rules)
    else:
        write_language_source(SOURCE, language, tmp / "src", rules)
        course = translated_course(course, SOURCE, rules, language)
    build_training(tmp / "src", tmp / "training")
    write_items_json(course, tmp / "training" / ITEMS_JSON)
    return course, tmp / "training", english.bank


def test_nothing_published_marks_the_right_option(built: tuple) -> None:
    course, out, english = built
    files = published(out)
    assert "search/search_index.json" in files and "assets/training.js" in files
    assert ITEMS_JSON in files
    questions = course.bank.questions()
    assert leaks(files, questions, rationales()) == []
    items = json.loads(files[ITEMS_JSON])["items"]
    assert [i["id"] for i in items] == [i.id for i in english.items]
    for item, en in zip(items, english.items, strict=True):
        # The English options in alphabetical order; a translation's in the same places, so
        # the key by position (and a record's answers) mean the same in every language.
        assert list(en.options) == sorted(en.options, key=str.casefold)
        assert len(item["options"]) == len(en.options)
        assert option_key(en.id, item["options"][en.right]) == item["key"], en.id
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


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_word_cue_scores_near_chance_over_every_scored_item(language: str) -> None:
    questions = (
        *load_bank(SOURCE, load_state_rules(""), language=language).questions(),
        *all_state_questions(SOURCE, language),
    )
    names, avoids = NAMES[language], AVOIDS[language]
    expected = chance = 0.0
    for q in questions:
        marks = [bool(names.search(o.text)) + (not avoids.search(o.text)) for o in q.options]
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


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("right_es = ", "right_en = ", r"items\[1\]: right_es is missing or empty"),
        ('  "Un asunto que primero', '  # "', r"items\[1\]: wrong_es must list 3 options"),
        ("title_es = ", "title_en = ", r"skills\.minor-exchange: title_es is missing"),
        ("question_es = ", "question_en = ", r"items\[1\]: question_es is missing"),
        (
            "Trata solo si él cobra dinero a sus amigos; una habitación no es un pago.",
            "Posible trata sexual de una menor: que ella esté de acuerdo no lo cambia.",
            r"items\[1\]: the translated options must all differ",
        ),
    ],
)
def test_a_missing_or_broken_translation_of_an_item_is_named(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    bank = (SOURCE / BANK).read_text(encoding="utf-8")
    (tmp_path / BANK).parent.mkdir(parents=True)
    (tmp_path / BANK).write_text(bank.replace(old, new, 1), encoding="utf-8")
    load_bank(tmp_path, load_state_rules(""))  # the English course does not need it
    with pytest.raises(CourseError, match=rf"items\.toml: {message}"):
        load_bank(tmp_path, load_state_rules(""), language="es")


@pytest.mark.parametrize("state", ["CA", "FL", "NY", "OH", "TX"])
def test_a_state_item_asks_in_spanish_with_the_same_option_in_the_same_place(state: str) -> None:
    rules = load_state_rules(state)
    english = load_bank(SOURCE, rules)
    spanish = load_bank(SOURCE, rules, language="es")
    for en, es in zip(english.items, spanish.items, strict=True):
        assert (en.id, en.right, len(en.options)) == (es.id, es.right, len(es.options))
        assert es.text != en.text and es.options != en.options, en.id
        if en.skill == "state-deadline":
            spoken = rules.in_language("es")
            assert es.options[es.right] == " ".join(spoken.reporting.deadline_short.split())
            assert spoken.name in es.text
