"""`keytool stats` on a generated inbox: its counts match ones computed here from the
generator's own records, and nothing of any report reaches its output."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import random
import re
import secrets
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from keytool.cases import case_ref
from keytool.client import Row
from keytool.identity import Identity, load_identity
from keytool.inbox import Inbox
from quietdoor import payloads, protocol
from quietdoor.encoding import b64u_encode

from .support.days import said_day
from .support.envelopes import report_payload
from .support.keytool import PASS, run_keytool

pytestmark = pytest.mark.usefixtures("keytool_passphrase")

SCHOOLS = ("lincoln-high", "riverside-middle")
FIRST, LAST = datetime.date(2025, 8, 1), datetime.date(2026, 7, 31)
RELAY = "http://generated.invalid"


@dataclass
class Made:
    """What the generator made for one case, kept apart from the inbox it writes."""

    school: str
    opened: datetime.date
    safe_now: str
    updates: list[datetime.date] = field(default_factory=list)
    read: datetime.date | None = None
    replied: datetime.date | None = None
    disposition: str = ""
    case_id: bytes = b""


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10, 5), datetime.UTC)


def generate(home: Path, seed: int, count: int) -> list[Made]:
    """Cases with reports, follow-ups, read receipts, replies and notes over a school year."""
    rng = random.Random(seed)
    me = load_identity(home, PASS)
    cursor = dict.fromkeys(SCHOOLS, 0)
    made = []
    with Inbox(home) as inbox:
        for n in range(count):
            school = rng.choice(SCHOOLS)
            case = Made(
                school=school,
                opened=FIRST + datetime.timedelta(days=rng.randrange((LAST - FIRST).days)),
                safe_now=rng.choice(payloads.SAFE_NOW),
            )
            keys = protocol.CaseKeys.derive(protocol.new_case_code())
            case.case_id = keys.case_id
            rows: list[tuple[datetime.date, payloads.Payload, bool]] = []
            report = report_payload(school, keys, f"report words, marker M{n}X", case.safe_now)
            rows.append((case.opened, _dated(report, case.opened), True))
            for i in range(rng.choice((0, 0, 1, 2))):
                day = case.opened + datetime.timedelta(days=rng.randrange(0, 90))
                case.updates.append(day)
                header = payloads.Header.new("update", school, keys.case_id, at(day))
                written = payloads.Update(header, "en", f"later, marker U{n}X{i}")
                rows.append((day, payloads.sign_update(written, keys.update_key), True))
            if rng.random() < 0.8:
                case.read = case.opened + datetime.timedelta(days=rng.randrange(0, 7))
                rows.append((case.read, _staff(me, "receipt", school, keys, case.read), True))
            if rng.random() < 0.6:
                case.replied = case.opened + datetime.timedelta(days=rng.randrange(0, 12))
                reply = _staff(me, "reply", school, keys, case.replied, f"reply marker R{n}X")
                rows.append((case.replied, reply, True))
            note_days = [rng.randrange(1, 60) for _ in range(rng.choice((0, 1, 2)))]
            prev = b""  # each note follows the one before it
            for day in (case.opened + datetime.timedelta(days=d) for d in sorted(note_days)):
                case.disposition = rng.choice(payloads.DISPOSITIONS)
                note = payloads.Note(
                    payloads.Header.new("note", school, keys.case_id, at(day)),
                    "closed",
                    case.disposition,
                    f"note marker N{n}X",
                    payloads.Signer(me.recipient.id, b""),
                    prev,
                )
                prev = note.header.msg_id
                rows.append((day, payloads.sign(note, me.signing_key, me.recipient.id), False))
            made.append(case)
            # Notes are listed in the order they were written, as a relay lists them.
            for day, payload, on_case in sorted(rows, key=lambda r: r[0]):
                cursor[school] += 1
                inbox.add_page(
                    RELAY, school, [_row(cursor[school], day, payload, keys, me, on_case)]
                )
    return made


def _dated(report: payloads.Report, day: datetime.date) -> payloads.Report:
    header = payloads.Header.new("report", report.header.school, report.header.case_id, at(day))
    return dataclasses.replace(report, header=header)


def _staff(
    me: Identity,
    kind: payloads.Kind,
    school: str,
    keys: protocol.CaseKeys,
    day: datetime.date,
    text: str = "",
) -> payloads.Payload:
    header = payloads.Header.new(kind, school, keys.case_id, at(day))
    signer = payloads.Signer(me.recipient.id, b"")
    draft: payloads.StaffPayload = (
        payloads.Reply(header, text, signer) if text else payloads.Receipt(header, signer)
    )
    return payloads.sign(draft, me.signing_key, me.recipient.id)


def _row(
    cursor: int,
    day: datetime.date,
    payload: payloads.Payload,
    keys: protocol.CaseKeys,
    me: Identity,
    on_case: bool,
) -> Row:
    recipients = [me.recipient.x25519] + ([bytes(keys.reply_key.public_key)] if on_case else [])
    author = {"report": "public", "update": "student"}.get(payload.header.kind, "staff")
    return Row(
        cursor=cursor,
        id=secrets.token_hex(12),
        received=day.isoformat(),
        case_id=keys.case_id if on_case else None,
        author=author,  # type: ignore[arg-type]
        envelope=payloads.seal_payload(payload, recipients),
    )


@dataclass
class Cell:
    """One school and month, as the test counts it."""

    reports: int = 0
    follow_ups: int = 0
    safe_now: Counter[str] = field(default_factory=Counter)
    dispositions: Counter[str] = field(default_factory=Counter)
    read: list[int] = field(default_factory=list)
    replied: list[int] = field(default_factory=list)

    def as_row(self) -> dict[str, object]:
        """The CSV's numbers, named as its columns are."""
        d = self.dispositions
        return {
            "reports": self.reports,
            "follow_ups": self.follow_ups,
            "not_safe_now": self.safe_now["no"],
            "not_sure": self.safe_now["unsure"],
            "referred_cps": d["cps"],
            "referred_police": d["police"],
            "handled_by_school": d["school"],
            "no_action_needed": d["no_action"],
            "false_or_junk": d["junk"],
            "no_disposition_yet": d[""],
            "read": len(self.read),
            "median_days_to_first_read": _median(self.read),
            "longest_days_to_first_read": max(self.read, default=""),
            "not_read": self.reports - len(self.read),
            "replied": len(self.replied),
            "median_days_to_first_reply": _median(self.replied),
            "longest_days_to_first_reply": max(self.replied, default=""),
            "not_replied": self.reports - len(self.replied),
            "median_minutes_to_first_seen": "",  # nobody viewed the generated inbox
            "longest_minutes_to_first_seen": "",
            "escalations_past_first_tier": 0,  # no relay counted any
        }


def expected(
    made: list[Made], first: datetime.date, last: datetime.date
) -> dict[tuple[str, str], Cell]:
    """Per school and month, from the generator's records alone."""
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for case in made:
        for day in case.updates:
            if first <= day <= last:
                cells[case.school, day.strftime("%Y-%m")].follow_ups += 1
        if not first <= case.opened <= last:
            continue
        cell = cells[case.school, case.opened.strftime("%Y-%m")]
        cell.reports += 1
        cell.safe_now[case.safe_now] += 1
        cell.dispositions[case.disposition] += 1
        if case.read is not None:
            cell.read.append((case.read - case.opened).days)
        if case.replied is not None:
            cell.replied.append((case.replied - case.opened).days)
    return cells


def _median(values: list[int]) -> object:
    if not values:
        return ""
    m = statistics.median(values)
    return int(m) if m == int(m) else m


def months_between(first: datetime.date, last: datetime.date) -> list[str]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def read_csv(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    out = {}
    for row in csv.DictReader(io.StringIO(path.read_text())):
        numbers: dict[str, object] = {}
        for k, v in row.items():
            if k not in ("school", "school_slug", "month"):
                numbers[k] = "" if v == "" else (float(v) if "." in v else int(v))
        out[row["school_slug"], row["month"]] = numbers
    return out


@pytest.fixture
def generated(home: Path) -> list[Made]:
    return generate(home, seed=11, count=90)


@pytest.mark.parametrize(
    ("first", "last"),
    [(FIRST, LAST), (datetime.date(2026, 1, 15), datetime.date(2026, 3, 10))],
)
def test_stats_match_counts_made_independently(
    home: Path,
    generated: list[Made],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    first: datetime.date,
    last: datetime.date,
) -> None:
    out_csv = tmp_path / "stats.csv"
    code, out, err = run_keytool(
        capsys, "--home", home, "stats", "--from", first, "--to", last, "--csv", out_csv
    )
    assert code == 0, err
    rows = read_csv(out_csv)
    months = months_between(first, last)
    assert sorted(rows) == sorted((s, m) for s in SCHOOLS for m in [*months, "all"])
    want = expected(generated, first, last)
    assert sum(c.reports for c in want.values()) > 10  # the window holds enough to test
    for school in SCHOOLS:
        for month in months:
            assert rows[school, month] == want[school, month].as_row(), (school, month)
        total = Cell()
        for month in months:
            cell = want[school, month]
            total.reports += cell.reports
            total.follow_ups += cell.follow_ups
            total.safe_now += cell.safe_now
            total.dispositions += cell.dispositions
            total.read += cell.read
            total.replied += cell.replied
        assert rows[school, "all"] == total.as_row(), school
    reports = sum(c.reports for c in want.values())
    this_year = datetime.date.today().year  # no config: this computer's zone
    said = f"{said_day(first, this_year)} to {said_day(last, this_year)}"
    assert f"{reports} reports in 2 schools, {said}" in out


def test_stats_show_nothing_of_any_report_or_case(
    home: Path, generated: list[Made], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run_keytool(
        capsys,
        "--home",
        home,
        "stats",
        "--from",
        FIRST,
        "--csv",
        tmp_path / "s.csv",
        "--html",
        tmp_path / "s.html",
    )
    assert code == 0, err
    code, text, err = run_keytool(capsys, "--home", home, "stats", "--from", FIRST)
    assert code == 0, err
    outputs = {
        "csv": (tmp_path / "s.csv").read_text(),
        "html": (tmp_path / "s.html").read_text(),
        "terminal": text + out + err,
    }
    assert "Lincoln High" in outputs["terminal"] or "lincoln-high" in outputs["terminal"]
    for where, content in outputs.items():
        assert "marker" not in content, where
        for case in generated:
            for form in (b64u_encode(case.case_id), case_ref(case.case_id)):
                assert form not in content, where
    assert (tmp_path / "s.csv").stat().st_mode & 0o077 == 0


def test_the_page_draws_a_bar_per_month_with_reports(
    home: Path, generated: list[Made], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "s.html"
    code, _, err = run_keytool(
        capsys, "--home", home, "stats", "--from", FIRST, "--to", LAST, "--html", page
    )
    assert code == 0, err
    text = page.read_text()
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")
    want = expected(generated, FIRST, LAST)
    for school in SCHOOLS:
        section = text[text.index(f'id="h-{school}"') :]
        svg = section[: section.index("</svg>")]
        drawn = [int(v) for v in re.findall(r'<text class="value"[^>]*>(\d+)</text>', svg)]
        counts = [want[school, m].reports for m in months_between(FIRST, LAST)]
        assert drawn == [c for c in counts if c]
        assert svg.count('<rect class="bar"') == len(drawn)
        heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)]
        # Taller bars for more reports.
        assert sorted(range(len(drawn)), key=lambda i: drawn[i]) == sorted(
            range(len(drawn)), key=lambda i: (drawn[i], heights[i])
        )


def test_stats_refuse_a_backwards_range(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_keytool(
        capsys, "--home", home, "stats", "--from", "2026-02-01", "--to", "2026-01-01"
    )
    assert code == 1 and "--to is before --from" in err
