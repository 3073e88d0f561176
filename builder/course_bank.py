"""The item bank of the scored tests (the check before the course and the final check).

``content/training/bank/items.toml`` is source only. The build publishes, per item, the
question, its options in alphabetical order and a key the page's scorer compares with
(`option_key`): nothing published marks the right option. The answer key, by option
position, goes to the print folder for ``keytool roster --answer-key``.

Items on the state's own rules (``[[state_items]]``) are made from the state's rules
file: the right option is a field of that state, the wrong ones the same field of the
other states, so each state's deployment tests its own rule.

A translated course (Spanish: ``es``) asks the same items: each item carries
``question_es``, ``right_es`` and ``wrong_es`` (one per English wrong option, in the same
order) and each skill ``title_es``. The options keep the English published order, so an
option's place, the answer key and a record's ``answers`` mean the same in every
language; only the text (and so the scorer's `option_key`) differs.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.course import SKILL, CourseError, Option, Question
from builder.state_rules import StateRules, load_state_rules
from quietdoor.states import COURSE_STATES

BANK = Path("bank") / "items.toml"  # below the course source
MIN_ITEMS_PER_SKILL = 2
STATE_FIELDS = ("deadline_short",)  # the rules fields a state item may ask about


@dataclass(frozen=True)
class Skill:
    id: str
    title: str  # shown after a scored test, under "skills to revisit"
    modules: tuple[str, ...]  # the modules shown again when the skill is missed


@dataclass(frozen=True)
class Item:
    id: str
    skill: str
    text: str
    options: tuple[str, ...]  # in the published (alphabetical) order
    right: int  # the right option's position in `options`

    def question(self) -> Question:
        return Question(
            text=self.text,
            options=tuple(
                Option(text=o, correct=i == self.right, feedback="")
                for i, o in enumerate(self.options)
            ),
            skill=self.skill,
        )

    def key(self) -> str:
        return option_key(self.id, self.options[self.right])


@dataclass(frozen=True)
class ItemBank:
    skills: tuple[Skill, ...]
    items: tuple[Item, ...]

    def questions(self) -> tuple[Question, ...]:
        return tuple(i.question() for i in self.items)


def option_key(item_id: str, option: str) -> str:
    """What the page's scorer compares a chosen option with: not the option's text."""
    return hashlib.sha256(f"{item_id}\n{option}".encode()).hexdigest()[:24]


def load_bank(
    source: Path,
    rules: StateRules,
    module_ids: tuple[str, ...] | None = None,
    language: str = "en",
) -> ItemBank:
    """The bank for one deployment's state in one language; `source` is the course source
    folder."""
    path = source / BANK
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path}: the scored tests need this item bank") from None
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: not valid TOML ({exc})") from None
    skills = {
        sid: _skill(path, sid, s, module_ids, language) for sid, s in raw.get("skills", {}).items()
    }
    items = [_item(path, n, it, language) for n, it in enumerate(raw.get("items", []), start=1)]
    if not rules.is_general:
        items += [
            _state_item(path, n, it, rules, language)
            for n, it in enumerate(raw.get("state_items", []), start=1)
        ]
    used = {i.skill for i in items}
    for item in items:
        if item.skill not in skills:
            raise CourseError(f"{path}: item {item.id!r}: skill {item.skill!r} is not listed")
    ids = [i.id for i in items]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CourseError(f"{path}: item id {twice[0]!r} is used twice")
    for sid in used:
        count = sum(i.skill == sid for i in items)
        if count < MIN_ITEMS_PER_SKILL:
            raise CourseError(
                f"{path}: skill {sid!r} has {count} item; give at least {MIN_ITEMS_PER_SKILL}"
            )
    return ItemBank(skills=tuple(s for s in skills.values() if s.id in used), items=tuple(items))


def all_state_questions(source: Path, language: str = "en") -> tuple[Question, ...]:
    """Every state's items, for measures over the whole bank."""
    out: list[Question] = []
    for code in COURSE_STATES:
        bank = load_bank(source, load_state_rules(code), language=language)
        out += [i.question() for i in bank.items if i.id.startswith("state-")]
    return tuple(out)


def _skill(
    path: Path, sid: str, raw: Any, module_ids: tuple[str, ...] | None, language: str
) -> Skill:
    where = f"{path}: skills.{sid}"
    if not SKILL.match(sid) or not isinstance(raw, dict):
        raise CourseError(f"{where}: a skill is a lowercase name with a table")
    title, modules = raw.get("title"), raw.get("modules")
    if not isinstance(title, str) or not title.strip():
        raise CourseError(f"{where}: title is missing")
    if not isinstance(modules, list) or not modules or not all(isinstance(m, str) for m in modules):
        raise CourseError(f"{where}: modules must list the modules that teach it")
    unknown = [m for m in modules if module_ids is not None and m not in module_ids]
    if unknown:
        raise CourseError(f"{where}: modules: no module {unknown[0]!r}")
    if language != "en":
        title = _text(where, raw, f"title_{language}")
    return Skill(id=sid, title=title.strip(), modules=tuple(modules))


def _text(where: str, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CourseError(f"{where}: {key} is missing or empty")
    return " ".join(value.split())


def _item(path: Path, number: int, raw: Any, language: str) -> Item:
    where = f"{path}: items[{number}]"
    if not isinstance(raw, dict):
        raise CourseError(f"{where}: an item is a table")
    _text(where, raw, "why")  # the rationale, for reviewers: required, never published
    wrong = raw.get("wrong")
    if not isinstance(wrong, list) or not 2 <= len(wrong) <= 3:
        raise CourseError(f"{where}: wrong must list 2 or 3 options")
    wrong_texts = [_text(where, {"wrong": w}, "wrong") for w in wrong]
    item = _ordered(
        where,
        _text(where, raw, "id"),
        _text(where, raw, "skill"),
        _text(where, raw, "question"),
        _text(where, raw, "right"),
        wrong_texts,
    )
    if language == "en":
        return item
    key = f"wrong_{language}"
    translated = raw.get(key)
    if not isinstance(translated, list) or len(translated) != len(wrong):
        raise CourseError(f"{where}: {key} must list {len(wrong)} options, one per wrong option")
    texts = dict(
        zip(
            [_text(where, raw, "right"), *wrong_texts],
            [_text(where, raw, f"right_{language}")]
            + [_text(where, {key: w}, key) for w in translated],
            strict=True,
        )
    )
    return _translated(where, item, _text(where, raw, f"question_{language}"), texts)


def _state_item(path: Path, number: int, raw: Any, rules: StateRules, language: str) -> Item:
    where = f"{path}: state_items[{number}]"
    if not isinstance(raw, dict):
        raise CourseError(f"{where}: an item is a table")
    field = _text(where, raw, "field")
    if field not in STATE_FIELDS:
        raise CourseError(f"{where}: field must be one of {', '.join(STATE_FIELDS)}")
    right = " ".join(getattr(rules.reporting, field).split())
    others = sorted(
        {" ".join(getattr(load_state_rules(c).reporting, field).split()) for c in COURSE_STATES}
        - {right, ""}
    )
    question = _text(where, raw, "question").replace("{state}", rules.name)
    item = _ordered(
        where, _text(where, raw, "id"), _text(where, raw, "skill"), question, right, others[:3]
    )
    if language == "en":
        return item
    texts = {
        " ".join(getattr(r.reporting, field).split()): " ".join(
            getattr(r.in_language(language).reporting, field).split()
        )
        for r in (load_state_rules(c) for c in COURSE_STATES)
    }
    question = _text(where, raw, f"question_{language}")
    return _translated(
        where, item, question.replace("{state}", rules.in_language(language).name), texts
    )


def _ordered(where: str, iid: str, skill: str, text: str, right: str, wrong: list[str]) -> Item:
    options = [right, *wrong]
    if len(set(options)) != len(options) or not 3 <= len(options) <= 4:
        raise CourseError(f"{where}: give 3 or 4 different options")
    ordered = tuple(sorted(options, key=str.casefold))
    return Item(id=iid, skill=skill, text=text, options=ordered, right=ordered.index(right))


def _translated(where: str, item: Item, text: str, options: dict[str, str]) -> Item:
    """The item in another language: its options in the English published order."""
    translated = tuple(options[o] for o in item.options)
    if len(set(translated)) != len(translated):
        raise CourseError(f"{where}: the translated options must all differ")
    return Item(id=item.id, skill=item.skill, text=text, options=translated, right=item.right)
