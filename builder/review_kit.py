"""A native speaker's review of a translation: the kit they read, the CSV they send back.

``quietdoor-build --review-kit LANG DIR`` writes ``DIR/review-LANG.html`` (every string:
English beside the translation, where it appears, what it is for, its length limit)
and ``DIR/review-LANG.csv``, which the reviewer fills in: their name in the
``#reviewer`` row, a correction or a note where one is needed. ``quietdoor-build
--apply-review FILE`` checks that CSV (it came from outside: every key known and
present, every correction with the English {placeholders}, within its limit) and only
then rewrites ``site/i18n/LANG.toml`` in one step, marked reviewed by that person today.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from builder.assets import SITE_DIR
from builder.errors import BuildError
from builder.i18n import I18N_DIR, read_translation, review
from builder.landing import CASE_SCRIPT_MESSAGES, SCRIPT_MESSAGES, load_catalogs, placeholders
from quietdoor.csvcells import cells
from quietdoor.languages import LANGUAGES

COLUMNS = ["key", "english", "translation", "correction", "note"]
MAX_CSV_BYTES = 1_000_000
MAX_NAME = 100
SHORT_PLACES = ("the top bar", "a button")  # little room on a 320-pixel phone
TEMPLATES = {"base.html.j2": "every page", "landing.html.j2": "the landing page"}
TEMPLATES["case.html.j2"] = "the case page"


class ReviewError(BuildError):
    """A review kit that cannot be written or a reviewed CSV that cannot be applied."""


@dataclass(frozen=True)
class Entry:
    key: str
    english: str
    translation: str
    places: tuple[str, ...]  # where the string appears
    about: str  # what it is for: en.toml's comment above it
    limit: int  # most characters that fit where it appears


def entries(lang: str) -> list[Entry]:
    """Every string of the student pages, with what a reviewer needs to judge it."""
    english, translated = load_catalogs()["en"], load_catalogs()[lang]
    about = _comments(I18N_DIR / "en.toml")
    rows = []
    for key, text in english.items():
        places = _places(key)
        rows.append(
            Entry(key, text, translated[key], places, about.get(key, ""), _limit(places, text))
        )
    return rows


def write_kit(lang: str, out: Path) -> tuple[Path, Path]:
    """The side-by-side page and the CSV to fill in, for one language."""
    if lang not in LANGUAGES or lang == "en":
        raise ReviewError(f"--review-kit: {lang!r} is not a translated language")
    rows = entries(lang)
    page, sheet = out / f"review-{lang}.html", out / f"review-{lang}.csv"
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SITE_DIR / "templates" / "review"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = environment.get_template("kit.html.j2").render(
        language=LANGUAGES[lang], status=review(lang), rows=rows, sheet=sheet.name
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(["#language", "", lang, "", ""])
    writer.writerow(["#reviewer", "", "", "", "your name here, in the correction column"])
    for row in rows:
        writer.writerow(cells([row.key, row.english, row.translation, "", ""]))
    try:
        out.mkdir(parents=True, exist_ok=True)
        page.write_text(html, encoding="utf-8")
        sheet.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise ReviewError(f"--review-kit: cannot write into {out} ({exc.strerror})") from None
    return page, sheet


def apply_review(path: Path, today: datetime.date | None = None, i18n_dir: Path = I18N_DIR) -> str:
    """Bring a filled-in CSV's corrections into its language's file; that language."""
    lang, reviewer, corrections = _read_sheet(path)
    target = i18n_dir / f"{lang}.toml"
    text = target.read_text(encoding="utf-8")
    for key, value in corrections.items():
        text, found = re.subn(
            rf"(?m)^{re.escape(key)} = .*$", f"{key} = {_toml(value)}", text, count=1
        )
        if not found:
            raise ReviewError(f"{target}: {key}: not on a line of its own; edit it by hand")
    when = (today or datetime.datetime.now(datetime.UTC).date()).isoformat()
    for field, value in (("status", "reviewed"), ("reviewer", reviewer), ("date", when)):
        text = _set_review_field(target, text, field, value)
    _replace(target, text)
    return lang


def _read_sheet(path: Path) -> tuple[str, str, dict[str, str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_CSV_BYTES:
        raise ReviewError(f"{path}: larger than {MAX_CSV_BYTES} bytes; not a review sheet")
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ReviewError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    if not rows or rows[0] != COLUMNS:
        raise ReviewError(f"{path}: line 1: expected the columns {', '.join(COLUMNS)}")
    meta = {row[0]: row for row in rows[1:3] if len(row) == len(COLUMNS)}
    lang = meta.get("#language", [""] * 5)[2]
    if lang not in LANGUAGES or lang == "en":
        raise ReviewError(f"{path}: line 2: #language: {lang!r} is not a translated language")
    reviewer = " ".join(meta.get("#reviewer", [""] * 5)[3].split())
    if not reviewer or len(reviewer) > MAX_NAME or not reviewer.isprintable():
        raise ReviewError(
            f"{path}: line 3: #reviewer: put your name (up to {MAX_NAME} characters) "
            "in the correction column"
        )
    expected = {entry.key: entry for entry in entries(lang)}
    corrections: dict[str, str] = {}
    seen: set[str] = set()
    for number, row in enumerate(rows[3:], start=4):
        where = f"{path}: line {number}"
        if len(row) != len(COLUMNS):
            raise ReviewError(f"{where}: expected {len(COLUMNS)} cells, got {len(row)}")
        key, correction = row[0], row[3].strip()
        entry = expected.get(key)
        if entry is None or key in seen:
            raise ReviewError(f"{where}: key: {key[:40]!r} is unknown or repeated")
        seen.add(key)
        if correction:
            corrections[key] = _checked(where, entry, correction)
    missing = sorted(expected.keys() - seen)
    if missing:
        raise ReviewError(f"{path}: rows missing for {', '.join(missing[:5])}: review every one")
    return lang, reviewer, corrections


def _checked(where: str, entry: Entry, correction: str) -> str:
    if not correction.isprintable():
        raise ReviewError(f"{where}: {entry.key}: correction has a control character")
    if placeholders(correction) != placeholders(entry.english):
        raise ReviewError(
            f"{where}: {entry.key}: correction must keep exactly "
            f"{sorted(placeholders(entry.english)) or 'no'} {{placeholders}}"
        )
    if len(correction) > entry.limit:
        raise ReviewError(
            f"{where}: {entry.key}: correction is {len(correction)} characters; "
            f"at most {entry.limit} fit"
        )
    return correction


def _set_review_field(target: Path, text: str, field: str, value: str) -> str:
    head, marker, table = text.partition("\n[review]\n")
    if not marker:
        raise ReviewError(f"{target}: [review]: missing (see docs/LANGUAGES.md)")
    table, found = re.subn(rf"(?m)^{field} = .*$", f"{field} = {_toml(value)}", table, count=1)
    if not found:
        table = f"{field} = {_toml(value)}\n{table}"
    return head + marker + table


def _replace(target: Path, text: str) -> None:
    """Check the new file as the builder will read it, beside the others, then swap it in."""
    with tempfile.TemporaryDirectory(prefix="quietdoor-review-") as folder:
        check = Path(folder)
        for other in LANGUAGES:
            source = target.parent / f"{other}.toml"
            copy = text if other == target.stem else source.read_text(encoding="utf-8")
            (check / source.name).write_text(copy, encoding="utf-8")
        load_catalogs.__wrapped__(check)
        review(target.stem, check)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".review-", suffix=".toml")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, target)
    load_catalogs.cache_clear()
    read_translation.cache_clear()


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string, for printable text


def _comments(path: Path) -> dict[str, str]:
    """Each key's comment lines just above it in en.toml, as one sentence."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            pending.append(line.lstrip("# "))
        elif " = " in line and not line.startswith(("[", " ")):
            if pending:
                found[line.split(" = ", 1)[0]] = " ".join(pending)
            pending = []
        else:
            pending = []
    return found


@functools.cache
def _template(name: str) -> str:
    return (SITE_DIR / "templates" / name).read_text("utf-8")


def _places(key: str) -> tuple[str, ...]:
    places = [
        where for name, where in TEMPLATES.items() if re.search(rf"\bt\.{key}\b", _template(name))
    ]
    if key == "exit_button" or key == "language_nav":
        places.insert(0, "the top bar")
    if key in SCRIPT_MESSAGES:
        places.append("the landing page, shown by its script")
    if key in CASE_SCRIPT_MESSAGES.values():
        places.append("the case page, shown by its script")
    if key in ("send", "add_send", "code_open", "try_again", "exit_button"):
        places.append("a button")
    return tuple(places) or ("the pages, filled in by the builder",)


def _limit(places: tuple[str, ...], english: str) -> int:
    """Room for a translation: half as long again as English, less on a button or the bar."""
    factor = 1.3 if set(places) & set(SHORT_PLACES) else 1.6
    return max(12, round(len(english) * factor))
