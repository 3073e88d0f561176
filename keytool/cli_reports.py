"""The commands that write reports for others: the training roster and the yearly numbers."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from keytool.cases import Inbox as CaseInbox
from keytool.cli_args import AddCommand, Subparsers
from keytool.errors import KeyToolError
from keytool.home import write_private
from keytool.present import clean
from keytool.prompt import open_session, read_cases
from keytool.roster import (
    completion,
    load_answer_key,
    load_course_info,
    load_staff,
    people,
    published_wordings,
    rescore,
    school_names,
)
from keytool.roster_archive import append_archive, verify_archive
from keytool.roster_report import (
    DETAIL_COLUMNS,
    STATUS_ORDER,
    SUMMARY_COLUMNS,
    Roster,
    detail_rows,
    summary_rows,
    to_csv,
    to_html,
)
from keytool.roster_states import attach_other_training, load_other_training
from keytool.session import Session
from keytool.settings import remembered_location
from keytool.stats import compute
from keytool.stats_report import to_csv as to_stats_csv
from keytool.stats_report import to_html as to_stats_html
from keytool.stats_report import to_text as stats_text
from keytool.words import plural
from quietdoor.clock import Clock
from quietdoor.payloads import Training, to_json
from quietdoor.states import US_STATES


def cmd_roster(args: argparse.Namespace) -> int:
    if args.verify_archive:
        archived = verify_archive(args.verify_archive)
        print(
            clean(
                f"{args.verify_archive}: {plural(len(archived.ids), 'record')}, chain intact, "
                f"signature verified; signed by {archived.signer} (check that this is the "
                "lead's ed25519 key in the deployment config)"
            )
        )
        return 0
    session = open_session(args)
    source = remembered_location(args.modules) if args.modules else session.settings.modules
    if not source:
        raise KeyToolError(
            "where is the course? pass --modules https://…/training/course.json or the dist folder"
        )
    course = load_course_info(source)
    training = [
        (e.stored.id, e.stored.received, e.payload)
        for e in fresh_cases(session, args).training
        if isinstance(e.payload, Training)
    ]
    published = published_wordings(course, {payload.language for _, _, payload in training})
    completions = [completion(*t, published) for t in training]
    if args.archive:
        added, total, moved = append_archive(
            args.archive,
            ((record, received, to_json(payload)) for record, received, payload in training),
            session.identity.signing_key,
        )
        if moved is not None:
            print(f"{args.archive}: lines no head signed (an archiving cut short) moved to {moved}")
        print(f"{args.archive}: {plural(added, 'record')} added, {total} in all, signed")
    flags: dict[str, list[str]] = {}
    if args.answer_key:
        key = load_answer_key(args.answer_key)
        checked = [rescore(c, key) for c in completions]
        completions = [c for c, _ in checked]
        flags = {c.record: problems for c, problems in checked if problems}
    mine = session.identity.recipient
    slugs = {c.school for c in completions} | set(mine.schools)
    names = school_names(course, sorted(slugs), mine.districts)
    staff = load_staff(args.staff, names) if args.staff else []
    if args.school:
        staff = [m for m in staff if m.school == args.school]
    everyone = people(completions, staff, flags)
    if args.other_training:
        other = load_other_training(args.other_training, names)
        for problem in attach_other_training(everyone, other):
            print(clean(f"{args.other_training}: {problem}"), file=sys.stderr)
    deployment = session.colleagues.deployment
    clock = Clock(deployment)
    today = args.on or clock.today
    roster = Roster(
        course=course,
        people=everyone,
        names=names,
        today=today,
        staff_list=bool(args.staff),
        state=US_STATES.get(deployment.state, "") if deployment else "",
        as_of=f"{clock.full_day(today)} ({clock.zone_name()})",
    )
    session.remember(modules=source)
    if args.csv:
        write_private(args.csv, to_csv(SUMMARY_COLUMNS, summary_rows(roster)).encode("utf-8"))
    if args.detail_csv:
        write_private(args.detail_csv, to_csv(DETAIL_COLUMNS, detail_rows(roster)).encode("utf-8"))
    if args.html:
        write_private(args.html, to_html(roster, "Staff training roster").encode("utf-8"))
    if not (args.csv or args.detail_csv or args.html):
        print(clean(to_csv(SUMMARY_COLUMNS, summary_rows(roster)), lines=True), end="")
    else:
        counts = roster.counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])
        print(f"{plural(len(roster.people), 'person', 'people')}: {parts or 'no records yet'}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    if args.start and args.end and args.end < args.start:
        raise KeyToolError("--to is before --from")
    session = open_session(args)
    inbox = fresh_cases(session, args)
    colleagues = session.colleagues
    mine = session.identity.recipient
    schools = [args.school] if args.school else colleagues.schools_of(mine)
    clock = Clock(colleagues.deployment)
    climbed, warnings = session.climbed(schools)
    for warning in warnings:
        print(f"keytool: {clean(warning)}", file=sys.stderr)
    numbers = compute(inbox.cases, schools, args.start, args.end, clock, climbed)
    session.remember()
    name = colleagues.school_name
    if args.csv:
        write_private(args.csv, to_stats_csv(numbers, name).encode("utf-8"))
    if args.html:
        organisation = colleagues.deployment.organisation if colleagues.deployment else ""
        page = to_stats_html(numbers, name, organisation, clock)
        write_private(args.html, page.encode("utf-8"))
    if not (args.csv or args.html):
        print(clean("\n".join(stats_text(numbers, name, clock)), lines=True))
    else:
        reports = sum(numbers.total(s).reports for s in numbers.schools)
        print(
            f"{plural(reports, 'report')} in {plural(len(numbers.schools), 'school')}, "
            f"{clock.day(numbers.start)} to {clock.day(numbers.end)}"
        )
    return 0


def fresh_cases(session: Session, args: argparse.Namespace) -> CaseInbox:
    """The inbox after fetching from the remembered relay, so that a report counts what
    was sent a minute ago; with --no-fetch (or no relay yet), how old the inbox is, said."""
    url = session.settings.relay_url
    if url and not args.no_fetch:
        relay = session.relay()
        try:
            added = session.fetch(relay, [args.school] if args.school else [], warn=_warn)
        except KeyToolError as exc:
            raise KeyToolError(f"{exc}; --no-fetch uses the inbox as it is") from None
        for warning in relay.warnings:
            _warn(warning)
        _note(f"fetched {plural(sum(added.values()), 'new message')} from {url} first")
        return read_cases(session, args.school)
    inbox = read_cases(session, args.school)
    why = "--no-fetch" if url else "no relay remembered yet"
    _note(f"not fetched ({why}): {_age(inbox, Clock(session.colleagues.deployment))}")
    return inbox


def _age(inbox: CaseInbox, clock: Clock) -> str:
    entries = [*inbox.training, *(e for c in inbox.cases for e in c.entries)]
    if not entries:
        return "the inbox is empty"
    newest = max(e.stored.fetched for e in entries)
    if not newest:
        return "when the inbox was last fetched is not known"
    return f"the newest message in the inbox was fetched on {clock.relay_day(newest)}"


def _note(text: str) -> None:
    print(f"keytool: {clean(text)}", file=sys.stderr)


def _warn(text: str) -> None:
    _note(f"warning: {text}")


def _no_fetch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="use the inbox as it is, without fetching from the relay first",
    )


def add_roster(sub: Subparsers) -> None:
    roster = sub.add_parser("roster", help="export the staff training roster")
    roster.add_argument(
        "--modules",
        help="the course's training/course.json: its URL or the built site folder (remembered)",
    )
    roster.add_argument("--school", help="only this school")
    roster.add_argument(
        "--staff",
        type=Path,
        help="a staff list (CSV: name, role, school, start_date, optionally staff_id) "
        "of who should have trained",
    )
    roster.add_argument(
        "--answer-key",
        type=Path,
        help="the build's training-answer-key.json (print folder): re-score every check "
        "and flag a record whose claimed score its answers do not give",
    )
    roster.add_argument(
        "--other-training",
        type=Path,
        help="hours from trainings outside this course (CSV: school, hours, on, provider, "
        "and staff_id or name), added to the credited hours",
    )
    roster.add_argument(
        "--archive",
        type=Path,
        help="append the training records to this signed, append-only archive folder",
    )
    roster.add_argument(
        "--verify-archive",
        type=Path,
        help="verify an archive folder offline (chain and signature) and stop",
    )
    roster.add_argument(
        "--on", type=_date_arg, help="the roster as of this date, YYYY-MM-DD (default: today)"
    )
    roster.add_argument("--csv", type=Path, help="write a row per person as CSV to this file")
    roster.add_argument(
        "--detail-csv", type=Path, help="write a row per person and module as CSV to this file"
    )
    roster.add_argument("--html", type=Path, help="write a printable roster page to this file")
    _no_fetch(roster)
    roster.set_defaults(run=cmd_roster)


def add_stats(sub: Subparsers) -> None:
    stats = sub.add_parser("stats", help="reports per school and month, without any content")
    stats.add_argument("--from", dest="start", type=_date_arg, help="first day counted, YYYY-MM-DD")
    stats.add_argument("--to", dest="end", type=_date_arg, help="last day counted (default: today)")
    stats.add_argument("--school", help="only this school")
    stats.add_argument("--csv", type=Path, help="write a row per school and month to this file")
    stats.add_argument("--html", type=Path, help="write a printable page with charts to this file")
    _no_fetch(stats)
    stats.set_defaults(run=cmd_stats)


def _date_arg(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-30") from None


COMMANDS: dict[str, AddCommand] = {"roster": add_roster, "stats": add_stats}
