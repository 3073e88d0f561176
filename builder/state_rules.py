"""A state's reporting rules for the course, read from one data file per state.

``content/training/states/TX.toml`` holds what the course shows Texas staff:
who must report and whether it can be left to someone else, to whom, how
fast, what training the state requires and what records the school keeps,
what the state requires that the course does not give, and the statutes and
sources behind all of it. ``general.toml`` is the text shown when a deployment
names no state. Adding a state means adding a file, and its code to
``quietdoor.states.COURSE_STATES`` (the config checks ``state`` against that).

The file's ``version`` is raised by its author for a change in substance, and
every module that shows the rules carries it in its own version, so that staff
are asked to read that module again.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import BuildError
from quietdoor.states import STATE_CODE_RE

# One rules file per state the course covers, named by its postal code (TX.toml).
STATE_RULES_DIR = Path(__file__).resolve().parent.parent / "content" / "training" / "states"
GENERAL = "general"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TOP_KEYS = frozenset(
    {
        "code",
        "name",
        "version",
        "checked",
        "refresher_months",
        "reporting",
        "training",
        "gaps",
        "statutes",
        "sources",
    }
)
REPORTING_KEYS = frozenset(
    {"who", "personal", "to_whom", "deadline", "written", "line", "deadline_short"}
)
TRAINING_KEYS = frozenset({"rule", "records"})
SOURCE_KEYS = frozenset({"title", "url"})


class StateRulesError(BuildError):
    """A state rules file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Reporting:
    who: str  # who must report (Markdown)
    personal: str  # whether the duty can be handed to someone else
    to_whom: str
    deadline: str
    written: str  # a written follow-up, or "" when the state asks for none
    line: str  # the number to call, for the printable checklist ("" in the general text)
    deadline_short: str  # the deadline in a few words, for the checklist


@dataclass(frozen=True)
class StateRules:
    code: str  # postal code, or "general"
    name: str  # "Texas", or "your state"
    version: int
    checked: str  # the date the facts were last checked against the sources
    refresher_months: int | None  # the state's training interval, when it sets one
    reporting: Reporting
    training_rule: str
    records: str
    gaps: tuple[str, ...]  # what the state requires that this course does not give
    statutes: tuple[str, ...]
    sources: tuple[Source, ...]

    @property
    def is_general(self) -> bool:
        return self.code == GENERAL

    @property
    def tag(self) -> str:
        """What a module's version carries for these rules, e.g. "TX.2"."""
        return f"{self.code}.{self.version}"


def load_state_rules(code: str, rules_dir: Path = STATE_RULES_DIR) -> StateRules:
    """The rules for a postal code, or the general text for ""."""
    name = code or GENERAL
    if name != GENERAL and not STATE_CODE_RE.match(name):
        raise StateRulesError(f"{name!r} is not a state code (two capital letters, such as TX)")
    path = rules_dir / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateRulesError(f"{path}: no rules file for {name!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateRulesError(f"{path}: cannot read the file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise StateRulesError(f"{path}: not valid TOML ({exc})") from None
    return parse_state_rules(raw, path, name)


def parse_state_rules(raw: Mapping[str, Any], path: Path, expected: str) -> StateRules:
    f = _Fields(path)
    f.known(raw, "", TOP_KEYS)
    code = f.text(raw, "code")
    if code != expected:
        raise StateRulesError(f"{path}: code: {code!r} does not match the file name")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateRulesError(f"{path}: version: expected a whole number from 1, got {version!r}")
    checked = f.text(raw, "checked")
    if not DATE_RE.match(checked):
        raise StateRulesError(f"{path}: checked: expected a date such as 2025-11-20")
    refresher = raw.get("refresher_months")
    if refresher is not None and (
        not isinstance(refresher, int) or isinstance(refresher, bool) or refresher < 1
    ):
        raise StateRulesError(
            f"{path}: refresher_months: expected a whole number of months, got {refresher!r}"
        )
    reporting = f.table(raw, "reporting", REPORTING_KEYS)
    training = f.table(raw, "training", TRAINING_KEYS)
    general = code == GENERAL
    gaps = raw.get("gaps", [])
    if not isinstance(gaps, list) or not all(isinstance(g, str) and g.strip() for g in gaps):
        raise StateRulesError(f"{path}: gaps: expected a list of text")
    statutes = raw.get("statutes")
    if (
        not isinstance(statutes, list)
        or not statutes
        or not all(isinstance(s, str) and s.strip() for s in statutes)
    ):
        raise StateRulesError(f"{path}: statutes: list at least one statute, as text")
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources:
        raise StateRulesError(f"{path}: sources: list at least one [[sources]] table")
    return StateRules(
        code=code,
        name=f.text(raw, "name"),
        version=version,
        checked=checked,
        refresher_months=refresher,
        reporting=Reporting(
            who=f.text(reporting, "who", "reporting"),
            personal=f.text(reporting, "personal", "reporting"),
            to_whom=f.text(reporting, "to_whom", "reporting"),
            deadline=f.text(reporting, "deadline", "reporting"),
            written=f.text(reporting, "written", "reporting", optional=True),
            line=f.text(reporting, "line", "reporting", optional=general),
            deadline_short=f.text(reporting, "deadline_short", "reporting", optional=general),
        ),
        training_rule=f.text(training, "rule", "training"),
        records=f.text(training, "records", "training"),
        gaps=tuple(g.strip() for g in gaps),
        statutes=tuple(s.strip() for s in statutes),
        sources=tuple(f.source(s, f"sources[{i}]") for i, s in enumerate(sources)),
    )


class _Fields:
    """Typed access to a rules file, with errors that name the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, problem: str) -> StateRulesError:
        return StateRulesError(f"{self.path}: {field}: {problem}")

    def known(self, table: Mapping[str, Any], where: str, keys: frozenset[str]) -> None:
        for key in sorted(set(table) - keys):
            raise self.fail(
                f"{where}.{key}" if where else key,
                f"unknown key (known: {', '.join(sorted(keys))})",
            )

    def text(
        self, table: Mapping[str, Any], key: str, where: str = "", *, optional: bool = False
    ) -> str:
        value = table.get(key, "" if optional else None)
        if not isinstance(value, str) or (not optional and not value.strip()):
            raise self.fail(f"{where}.{key}" if where else key, f"expected text, got {value!r}")
        return " ".join(value.split())

    def table(self, raw: Mapping[str, Any], key: str, keys: frozenset[str]) -> Mapping[str, Any]:
        value = raw.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a [{key}] table")
        self.known(value, key, keys)
        return value

    def source(self, value: Any, where: str) -> Source:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected a [[sources]] table")
        self.known(value, where, SOURCE_KEYS)
        url = self.text(value, "url", where)
        if not url.startswith("https://"):
            raise self.fail(f"{where}.url", f"{url!r} must be an https address")
        return Source(title=self.text(value, "title", where), url=url)
