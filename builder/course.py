"""The training course: modules with their required parts and knowledge checks, and the
short tests before and after the course.

A module is `content/training/docs/modules/NN-name.md` with front matter
(`id`, `title`, `minutes`, `version`) and the level-2 sections Learning
objectives, Scenario, Knowledge check and Sources. Its version is set by its
author, who raises it for a change in substance (not for a typo), so that the
roster asks staff to read it again. A module that shows the deployment's state
rules (a `<!-- qd:state NAME -->` line) also carries the rules' version: a
change in those rules asks for a refresher of that module in that state only.

The test before the course (`docs/pretest.md`) and the final check
(`docs/final-check.md`) are scored: their pages hold no questions, only a
`<div id="qd-scored"></div>` where the page draws one item per skill from the
item bank (`builder.course_bank`). Module knowledge checks are practice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from builder.errors import BuildError
from builder.state_rules import StateRules, load_state_rules

if TYPE_CHECKING:
    from builder.course_bank import ItemBank

REQUIRED_SECTIONS = ("Learning objectives", "Scenario", "Knowledge check", "Sources")
QUIZ_BLOCK = re.compile(r"^```quiz[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
MODULE_ID = re.compile(r"^m\d\d$")
STATE_BLOCK = re.compile(r"^<!-- qd:state (?P<name>[a-z]+) -->[ \t]*$", re.MULTILINE)
SKILL = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
PRETEST = "pretest.md"
POSTTEST = "final-check.md"
SCORED_MOUNT = '<div id="qd-scored"></div>'


class CourseError(BuildError):
    """A module that lacks a required part; the message names the file and the part."""


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[Option, ...]
    skill: str = ""  # in the tests before and after the course: the skill it measures


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    minutes: int
    version: str  # the author's version, e.g. "2", or "2+TX.1" when it shows Texas' rules
    path: str  # the page's URL path below the training site, e.g. "modules/03-limits/"
    questions: tuple[Question, ...]
    words: int
    state_blocks: tuple[str, ...] = ()  # the state rule blocks the page shows


@dataclass(frozen=True)
class Assessment:
    """The page of the test before the course or of the final check (its items: the bank)."""

    id: str  # "pre" or "post"
    title: str
    path: str


@dataclass(frozen=True)
class Course:
    modules: tuple[Module, ...]
    pretest: Assessment
    posttest: Assessment
    bank: ItemBank

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every question a staff member answers, for measures over the whole course."""
        return (*(q for m in self.modules for q in m.questions), *self.bank.questions())


def load_course(docs_dir: Path, rules: StateRules | None = None) -> Course:
    """The modules under docs_dir/modules in file-name order and both tests, fully checked.

    rules are the deployment's state rules (the general text when None); they set the
    version of every module that shows them.
    """
    rules = rules if rules is not None else load_state_rules("")
    modules = tuple(parse_module(p, rules) for p in sorted((docs_dir / "modules").glob("*.md")))
    seen: set[str] = set()
    for module in modules:
        if module.id in seen:
            raise CourseError(f"module id {module.id!r} is used twice")
        seen.add(module.id)
    pretest = parse_assessment(docs_dir / PRETEST, "pre")
    posttest = parse_assessment(docs_dir / POSTTEST, "post")
    from builder.course_bank import load_bank  # noqa: PLC0415 - it builds on this module's types

    bank = load_bank(docs_dir.parent, rules, tuple(m.id for m in modules))
    return Course(modules=modules, pretest=pretest, posttest=posttest, bank=bank)


def parse_assessment(path: Path, expected_id: str) -> Assessment:
    """A scored test's page: its place for the items, and never a question of its own."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: the course needs this test page") from None
    meta = front_matter(path, text, ("id", "title"))
    if meta["id"] != expected_id:
        raise CourseError(f"{path}: front matter id must be {expected_id!r}")
    if QUIZ_BLOCK.search(text):
        raise CourseError(f"{path}: a scored test's items go in the item bank, not the page")
    if SCORED_MOUNT not in text:
        raise CourseError(f"{path}: the page needs {SCORED_MOUNT} where the items go")
    return Assessment(id=expected_id, title=meta["title"], path=f"{path.stem}/")


def parse_module(path: Path, rules: StateRules | None = None) -> Module:
    rules = rules if rules is not None else load_state_rules("")
    text = path.read_text(encoding="utf-8")
    meta = front_matter(path, text, ("id", "title", "minutes", "version"))
    if not MODULE_ID.match(meta["id"]):
        raise CourseError(f"{path}: front matter id {meta['id']!r} must look like m01")
    body = text[FRONT_MATTER.match(text).end() :]  # type: ignore[union-attr]
    sections = _sections(body)
    for name in REQUIRED_SECTIONS:
        if not sections.get(name, "").strip():
            raise CourseError(f"{path}: the section '## {name}' is missing or empty")
    if len(re.findall(r"^\s*[-*] ", sections["Learning objectives"], re.MULTILINE)) < 2:
        raise CourseError(f"{path}: 'Learning objectives' should list the objectives as bullets")
    if not re.search(r"https?://", sections["Sources"]):
        raise CourseError(f"{path}: 'Sources' must link to at least one source")
    quizzes = QUIZ_BLOCK.findall(sections["Knowledge check"])
    if not 3 <= len(quizzes) <= 5:
        raise CourseError(f"{path}: the knowledge check needs 3 to 5 questions, not {len(quizzes)}")
    questions = tuple(parse_question(path, i + 1, block) for i, block in enumerate(quizzes))
    minutes = _whole_number(path, meta, "minutes")
    version = str(_whole_number(path, meta, "version"))
    blocks = tuple(dict.fromkeys(m["name"] for m in STATE_BLOCK.finditer(body)))
    if blocks:
        version += f"+{rules.tag}"
    return Module(
        id=meta["id"],
        title=meta["title"],
        minutes=minutes,
        version=version,
        path=f"modules/{path.stem}/",
        questions=questions,
        words=len(re.findall(r"\w+", STATE_BLOCK.sub("", body))),
        state_blocks=blocks,
    )


def parse_question(path: Path, number: int, block: str) -> Question:
    """One ```quiz block: '? question', then '+ right' / '- wrong' options, each '= feedback'."""
    where = f"{path}: question {number}"
    question = ""
    skill = ""
    options: list[list[str | bool]] = []
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        mark, _, rest = line.partition(" ")
        rest = rest.strip()
        if mark == "?":
            question = rest
        elif mark == "@":
            if not SKILL.match(rest):
                raise CourseError(f"{where}: {rest!r} is not a skill name (lowercase, hyphens)")
            skill = rest
        elif mark in ("+", "-"):
            options.append([rest, mark == "+", ""])
        elif mark == "=" and options:
            options[-1][2] = rest
        else:
            raise CourseError(f"{where}: cannot read the line {line!r}")
    if not question:
        raise CourseError(f"{where}: the question line ('? ...') is missing")
    if not 3 <= len(options) <= 4:
        raise CourseError(f"{where}: give 3 or 4 options, not {len(options)}")
    if sum(bool(o[1]) for o in options) != 1:
        raise CourseError(f"{where}: exactly one option must be marked '+' as correct")
    for o in options:
        if not o[2]:
            raise CourseError(f"{where}: the option {o[0]!r} has no feedback ('= ...')")
    return Question(
        text=question,
        options=tuple(
            Option(text=str(o[0]), correct=bool(o[1]), feedback=str(o[2])) for o in options
        ),
        skill=skill,
    )


def front_matter(path: Path, text: str, required: tuple[str, ...]) -> dict[str, str]:
    """A page's front matter, each of `required` present and not empty."""
    match = FRONT_MATTER.match(text)
    if not match:
        raise CourseError(f"{path}: front matter (--- {', '.join(required)} ---) is missing")
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip().strip("\"'")
    for key in required:
        if not meta.get(key):
            raise CourseError(f"{path}: front matter '{key}' is missing")
    return meta


def _whole_number(path: Path, meta: dict[str, str], key: str) -> int:
    value = meta[key]
    if not value.isdigit() or int(value) < 1:
        raise CourseError(f"{path}: front matter '{key}' must be a whole number from 1")
    return int(value)


def _sections(body: str) -> dict[str, str]:
    """Level-2 sections by title; fenced code is skipped so '## ' inside it does not count."""
    sections: dict[str, str] = {}
    current = None
    in_fence = False
    for line in body.splitlines(keepends=True):
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line
    return sections


@dataclass(frozen=True)
class AnswerCues:
    """How well someone who knows nothing could score from the form of the options alone.

    Each share is the expected score of a strategy that ignores the question: always pick
    the longest option, the shortest, or the one in the same written position (ties broken
    at random). `chance` is the expected score of a blind guess; a fair course keeps every
    strategy close to it. `length_ratio` is the mean, over questions, of the right
    option's length divided by the mean length of the wrong ones.
    """

    questions: int
    chance: float
    longest: float
    shortest: float
    best_position: float
    length_ratio: float


def answer_cues(questions: tuple[Question, ...] | list[Question]) -> AnswerCues:
    if not questions:
        raise CourseError("no questions to measure")
    n = len(questions)

    def pick(question: Question, choose: Callable[[list[int]], int]) -> float:
        lengths = [len(o.text) for o in question.options]
        best = choose(lengths)
        tied = [o for o, length in zip(question.options, lengths, strict=True) if length == best]
        return sum(o.correct for o in tied) / len(tied)

    positions: dict[int, float] = {}
    for q in questions:
        right = next(i for i, o in enumerate(q.options) if o.correct)
        positions[right] = positions.get(right, 0) + 1
    ratios = []
    for q in questions:
        right = next(len(o.text) for o in q.options if o.correct)
        wrong = [len(o.text) for o in q.options if not o.correct]
        ratios.append(right / (sum(wrong) / len(wrong)))
    return AnswerCues(
        questions=n,
        chance=sum(1 / len(q.options) for q in questions) / n,
        longest=sum(pick(q, max) for q in questions) / n,
        shortest=sum(pick(q, min) for q in questions) / n,
        best_position=max(positions.values()) / n,
        length_ratio=sum(ratios) / n,
    )
