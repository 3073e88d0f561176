"""The training course's modules: their required parts, knowledge checks and versions.

A module is `content/training/docs/modules/NN-name.md` with front matter
(`id`, `title`, `minutes`) and the level-2 sections Learning objectives,
Scenario, Knowledge check and Sources. Its version is a hash of its Markdown,
so a completion record names exactly the text that was read, and the roster can
tell who read an older version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError

REQUIRED_SECTIONS = ("Learning objectives", "Scenario", "Knowledge check", "Sources")
QUIZ_BLOCK = re.compile(r"^```quiz[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
MODULE_ID = re.compile(r"^m\d\d$")


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


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    minutes: int
    version: str  # first 16 hex digits of the SHA-256 of the Markdown source
    path: str  # the page's URL path below the training site, e.g. "modules/03-limits/"
    questions: tuple[Question, ...]
    words: int


def load_course(docs_dir: Path) -> list[Module]:
    """Every module under docs_dir/modules, in file-name order, fully checked."""
    modules = [parse_module(p) for p in sorted((docs_dir / "modules").glob("*.md"))]
    seen: set[str] = set()
    for module in modules:
        if module.id in seen:
            raise CourseError(f"module id {module.id!r} is used twice")
        seen.add(module.id)
    return modules


def parse_module(path: Path) -> Module:
    source = path.read_bytes()
    text = source.decode("utf-8")
    meta = _front_matter(path, text)
    body = text[FRONT_MATTER.match(text).end() :]  # type: ignore[union-attr]
    sections = _sections(body)
    for name in REQUIRED_SECTIONS:
        if not sections.get(name, "").strip():
            raise CourseError(f"{path}: the section '## {name}' is missing or empty")
    if len(re.findall(r"^\s*[-*] ", sections["Learning objectives"], re.MULTILINE)) < 2:
        raise CourseError(f"{path}: 'Learning objectives' should list the objectives as bullets")
    if not re.search(r"https?://", sections["Sources"]):
        raise CourseError(f"{path}: 'Sources' must link to at least one source")
    blocks = QUIZ_BLOCK.findall(sections["Knowledge check"])
    if not 3 <= len(blocks) <= 5:
        raise CourseError(f"{path}: the knowledge check needs 3 to 5 questions, not {len(blocks)}")
    questions = tuple(parse_question(path, i + 1, block) for i, block in enumerate(blocks))
    try:
        minutes = int(meta.get("minutes", ""))
    except ValueError:
        raise CourseError(f"{path}: front matter 'minutes' must be a whole number") from None
    return Module(
        id=meta["id"],
        title=meta["title"],
        minutes=minutes,
        version=hashlib.sha256(source).hexdigest()[:16],
        path=f"modules/{path.stem}/",
        questions=questions,
        words=len(re.findall(r"\w+", body)),
    )


def parse_question(path: Path, number: int, block: str) -> Question:
    """One ```quiz block: '? question', then '+ right' / '- wrong' options, each '= feedback'."""
    where = f"{path}: question {number}"
    question = ""
    options: list[list[str | bool]] = []
    for raw in block.splitlines():
        line = raw.strip()
        if not line:
            continue
        mark, _, rest = line.partition(" ")
        rest = rest.strip()
        if mark == "?":
            question = rest
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
    )


def _front_matter(path: Path, text: str) -> dict[str, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        raise CourseError(f"{path}: front matter (--- id, title, minutes ---) is missing")
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip().strip("\"'")
    for key in ("id", "title", "minutes"):
        if not meta.get(key):
            raise CourseError(f"{path}: front matter '{key}' is missing")
    if not MODULE_ID.match(meta["id"]):
        raise CourseError(f"{path}: front matter id {meta['id']!r} must look like m01")
    return meta


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
