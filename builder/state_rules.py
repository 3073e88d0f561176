"""A state's reporting rules for the course, read from one data file per state.

``content/training/states/TX.toml`` holds what the course shows Texas staff, one
[[claims]] table per statement with the passage it relies on, its address and the
date read:
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builder.errors import BuildError
from quietdoor.states import STATE_CODE_RE

# One rules file per state the course covers, named by its postal code (TX.toml).
STATE_RULES_DIR = Path(__file__).resolve().parent.parent / "content" / "training" / "states"
GENERAL = "general"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLAIM_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{1,40}$")
TOP_KEYS = frozenset(
    {
        "code",
        "name",
        "version",
        "checked",
        "refresher_months",
        "reporting",
        "gaps",
        "statutes",
        "claims",
        "name_es",
        "gaps_es",
        "statutes_es",
        "attestation",
        "attestation_es",
    }
)
REPORTING_KEYS = frozenset({"line", "deadline_short", "line_es", "deadline_short_es"})
CLAIM_KEYS = frozenset({"id", "label", "text", "sources", "label_es", "text_es"})
SOURCE_KEYS = frozenset({"title", "url", "quote", "read", "kind"})
# A primary source is the law's own text or the agency's own page; a secondary one (a
# summary, an association's note, a copy on another site) is a lead, not a verification.
SOURCE_KINDS = ("primary", "secondary")
# The claims every rules file makes; "written" (a written follow-up) is optional.
REQUIRED_CLAIMS = ("who", "personal", "to_whom", "deadline", "penalty", "training", "records")
OPTIONAL_CLAIMS = ("written",)
DATE_SLOT = "{date}"  # where an attestation names the day it is signed
ROLE_PREFIX = "role-"  # a note for one role, shown in module 10
UNVERIFIED = "*Not yet verified against the law's text; ask your safeguarding lead:*"
UNVERIFIED_SHORT = "not yet verified: ask your safeguarding lead"
# The Spanish course shows each text's `_es` twin (`text_es` beside `text`); quoted
# passages and source titles stay in the language they were read in.
UNVERIFIED_SHORT_ES = "aún sin verificar: pregunte a su responsable de protección"
UNVERIFIED_ES = (
    "*Aún no verificado con el texto de la ley; consulte a su responsable de protección:*"
)


class StateRulesError(BuildError):
    """A state rules file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    quote: str = ""  # the exact passage the claim relies on, as read
    read: str = ""  # the date it was read
    kind: str = "primary"  # or "secondary": see SOURCE_KINDS

    @property
    def primary(self) -> bool:
        return self.kind == "primary"


@dataclass(frozen=True)
class Claim:
    """One statement of a state's law, with the passages that support it.

    A claim with no quoted primary source is shown as not yet verified, never as
    fact: its secondary sources are leads to check, not a verification.
    The general text (no state) states no law, so it needs no source.
    """

    id: str
    text: str
    sources: tuple[Source, ...]
    label: str = ""  # how a list shows it ("School police"), for extra claims and role notes
    needs_source: bool = True
    text_es: str = ""
    label_es: str = ""
    unverified: str = UNVERIFIED  # the label of an unverified claim, in the page's language

    @property
    def verified(self) -> bool:
        return any(s.primary for s in self.sources)

    @property
    def shown(self) -> str:
        """The claim as the course shows it (Markdown)."""
        if self.verified or not self.needs_source:
            return self.text
        return f"{self.unverified} {self.text}"


@dataclass(frozen=True)
class Reporting:
    line: str  # the number to call, for the printable checklist ("" in the general text)
    deadline_short: str  # the deadline in a few words, for the checklist
    line_es: str = ""
    deadline_short_es: str = ""


@dataclass(frozen=True)
class StateRules:
    code: str  # postal code, or "general"
    name: str  # "Texas", or "your state"
    version: int
    checked: str  # the date the facts were last checked against the sources
    refresher_months: int | None  # the state's training interval, when it sets one
    reporting: Reporting
    claims: tuple[Claim, ...]
    gaps: tuple[str, ...]  # what the state requires that this course does not give
    statutes: tuple[str, ...]
    name_es: str = ""
    gaps_es: tuple[str, ...] = ()
    statutes_es: tuple[str, ...] = ()
    unverified_short: str = UNVERIFIED_SHORT  # the checklist's marker, in the page's language
    # What a staff member signs at the end of the course, with DATE_SLOT for the day.
    attestation: str = ""
    attestation_es: str = ""

    def in_language(self, lang: str) -> StateRules:
        """The same rules with every text in lang ("en" or "es"); versions and sources unchanged."""
        if lang == "en":
            return self
        if lang != "es":
            raise StateRulesError(f"{self.code}.toml: no texts in the language {lang!r}")
        where = f"{self.code}.toml"
        for claim in self.claims:
            if not claim.text_es or (claim.label and not claim.label_es):
                field = "text_es" if not claim.text_es else "label_es"
                raise StateRulesError(
                    f"{where}: claim {claim.id!r}: {field} is missing (the Spanish course needs it)"
                )
        for field, value in (("name_es", self.name_es), ("attestation_es", self.attestation_es)):
            if not value:
                raise StateRulesError(f"{where}: {field} is missing (the Spanish course needs it)")
        for field, english, spanish in (
            ("gaps_es", self.gaps, self.gaps_es),
            ("statutes_es", self.statutes, self.statutes_es),
        ):
            if len(english) != len(spanish):
                raise StateRulesError(
                    f"{where}: {field}: give one Spanish text per English one "
                    f"({len(english)}, not {len(spanish)})"
                )
        if bool(self.reporting.line) != bool(self.reporting.line_es) or bool(
            self.reporting.deadline_short
        ) != bool(self.reporting.deadline_short_es):
            raise StateRulesError(f"{where}: reporting: line_es and deadline_short_es are missing")
        return replace(
            self,
            name=self.name_es,
            gaps=self.gaps_es,
            statutes=self.statutes_es,
            unverified_short=UNVERIFIED_SHORT_ES,
            attestation=self.attestation_es,
            reporting=Reporting(
                line=self.reporting.line_es, deadline_short=self.reporting.deadline_short_es
            ),
            claims=tuple(
                replace(c, text=c.text_es, label=c.label_es, unverified=UNVERIFIED_ES)
                for c in self.claims
            ),
        )

    @property
    def attestations(self) -> dict[str, str]:
        """The attestation by language, as course.json publishes it."""
        found = {"en": self.attestation, "es": self.attestation_es}
        return {lang: text for lang, text in found.items() if text}

    @property
    def is_general(self) -> bool:
        return self.code == GENERAL

    @property
    def tag(self) -> str:
        """What a module's version carries for these rules, e.g. "TX.2"."""
        return f"{self.code}.{self.version}"

    def claim(self, claim_id: str) -> Claim | None:
        return next((c for c in self.claims if c.id == claim_id), None)

    def marked(self, value: str, claim_id: str) -> str:
        """A short fact from a claim (the checklist deadline), marked if the claim is unverified."""
        found = self.claim(claim_id)
        if found is None or found.verified or not found.needs_source:
            return value
        return f"{value} ({self.unverified_short})"

    def shown(self, claim_id: str) -> str:
        """A required or optional claim as shown, or "" when the file does not make it."""
        found = self.claim(claim_id)
        return found.shown if found else ""

    @property
    def extra_claims(self) -> tuple[Claim, ...]:
        """Claims beyond the fixed ones and the role notes, shown with the reporting rules."""
        fixed = {*REQUIRED_CLAIMS, *OPTIONAL_CLAIMS}
        return tuple(
            c for c in self.claims if c.id not in fixed and not c.id.startswith(ROLE_PREFIX)
        )

    @property
    def role_notes(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.id.startswith(ROLE_PREFIX))

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every source the claims cite, once each (by address), in file order."""
        seen: dict[str, Source] = {}
        for claim in self.claims:
            for source in claim.sources:
                seen.setdefault(source.url, source)
        return tuple(seen.values())


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
    claims = raw.get("claims")
    if not isinstance(claims, list) or not claims:
        raise StateRulesError(f"{path}: claims: list the claims as [[claims]] tables")
    parsed = tuple(
        f.claim(c, f"claims[{i}]", needs_source=not general) for i, c in enumerate(claims)
    )
    ids = [c.id for c in parsed]
    for claim_id in ids:
        if ids.count(claim_id) > 1:
            raise StateRulesError(f"{path}: claims: id {claim_id!r} is used twice")
    for claim_id in REQUIRED_CLAIMS:
        if claim_id not in ids and not (general and claim_id == "penalty"):
            raise StateRulesError(f"{path}: claims: no claim with id {claim_id!r}")
    return StateRules(
        code=code,
        name=f.text(raw, "name"),
        version=version,
        checked=checked,
        refresher_months=refresher,
        reporting=Reporting(
            line=f.text(reporting, "line", "reporting", optional=general),
            deadline_short=f.text(reporting, "deadline_short", "reporting", optional=general),
            line_es=f.text(reporting, "line_es", "reporting", optional=True),
            deadline_short_es=f.text(reporting, "deadline_short_es", "reporting", optional=True),
        ),
        claims=parsed,
        gaps=tuple(g.strip() for g in gaps),
        statutes=tuple(s.strip() for s in statutes),
        name_es=f.text(raw, "name_es", optional=True),
        gaps_es=f.texts(raw, "gaps_es"),
        statutes_es=f.texts(raw, "statutes_es"),
        attestation=f.attestation(raw, "attestation"),
        attestation_es=f.attestation(raw, "attestation_es", optional=True),
    )


def claims_table(codes: Iterable[str], rules_dir: Path = STATE_RULES_DIR) -> str:
    """docs/TRAINING.md's table of every state claim and its source (tests check it matches)."""
    rows = [
        "| State | Claim | Source | Read | Passage relied on |",
        "| --- | --- | --- | --- | --- |",
    ]
    for code in codes:
        for claim in load_state_rules(code, rules_dir).claims:
            if not claim.sources:
                rows.append(f"| {code} | `{claim.id}` | not yet verified | | |")
            # A claim resting only on secondary sources is not verified: its row says so.
            shown_id = f"`{claim.id}`" if claim.verified else f"`{claim.id}` (not yet verified)"
            for s in claim.sources:
                quote = s.quote.replace("|", "\\|")
                lead = "" if s.primary else "*secondary, a lead:* "
                rows.append(
                    f"| {code} | {shown_id} | {lead}[{s.title}]({s.url}) | {s.read} | {quote} |"
                )
    return "\n".join(rows) + "\n"


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

    def texts(self, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "expected a list of text")
        return tuple(" ".join(v.split()) for v in value)

    def attestation(self, raw: Mapping[str, Any], key: str, *, optional: bool = False) -> str:
        value = self.text(raw, key, optional=optional)
        if value and value.count(DATE_SLOT) != 1:
            raise self.fail(key, f"name the day it is signed once, as {DATE_SLOT}")
        return value

    def table(self, raw: Mapping[str, Any], key: str, keys: frozenset[str]) -> Mapping[str, Any]:
        value = raw.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a [{key}] table")
        self.known(value, key, keys)
        return value

    def claim(self, value: Any, where: str, *, needs_source: bool) -> Claim:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected a [[claims]] table")
        self.known(value, where, CLAIM_KEYS)
        claim_id = self.text(value, "id", where)
        if not CLAIM_ID_RE.match(claim_id):
            raise self.fail(f"{where}.id", f"{claim_id!r} is not an id such as 'deadline'")
        label = self.text(value, "label", where, optional=True)
        if claim_id.startswith(ROLE_PREFIX) and not label:
            raise self.fail(f"{where}.label", "a role note names its role")
        sources = value.get("sources", [])
        if not isinstance(sources, list):
            raise self.fail(f"{where}.sources", "expected [[claims.sources]] tables")
        return Claim(
            id=claim_id,
            text=self.text(value, "text", where),
            sources=tuple(self.source(s, f"{where}.sources[{i}]") for i, s in enumerate(sources)),
            label=label,
            needs_source=needs_source,
            text_es=self.text(value, "text_es", where, optional=True),
            label_es=self.text(value, "label_es", where, optional=True),
        )

    def source(self, value: Any, where: str) -> Source:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected a [[claims.sources]] table")
        self.known(value, where, SOURCE_KEYS)
        url = self.text(value, "url", where)
        if not url.startswith("https://"):
            raise self.fail(f"{where}.url", f"{url!r} must be an https address")
        read = self.text(value, "read", where)
        if not DATE_RE.match(read):
            raise self.fail(f"{where}.read", "expected the date it was read, such as 2026-12-06")
        kind = value.get("kind", "primary")
        if kind not in SOURCE_KINDS:
            raise self.fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        return Source(
            title=self.text(value, "title", where),
            url=url,
            quote=self.text(value, "quote", where),
            read=read,
            kind=kind,
        )
