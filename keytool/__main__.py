"""python -m keytool --home DIR COMMAND: the safeguarding lead's keys, inbox and replies.

  init    create your keys and print the lines to add to the deployment config
  desk    the inbox in your browser (this computer only): triage, reply, status, notes
  fetch   download new messages for your schools from the relay (signed request)
  list    the cases in the inbox, newest activity first, with safety flags
  show    one case's whole conversation; tells the student the school has read it
  reply   answer the student on a case (colleagues see the reply too)
  note    set a case's status and disposition, with a private note for colleagues
  rotate  make new keys (the old ones keep opening what was sealed to them)
  backup  encrypted backups of your keys and of your inbox; a printable recovery sheet
  restore your keys (from a backup or the recovery sheet) or your inbox, on a new laptop
  roster  the staff training roster: a row per person (CSV, printable page)
  stats   the numbers per school and month, for a board or a state (CSV, printable page)

The passphrase is asked for at the keyboard, or read from QUIETDOOR_PASSPHRASE.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import getpass
import os
import sys
from pathlib import Path

from keytool.backup import (
    INBOX_FORMAT,
    backup_kind,
    restore_identity_backup,
    restore_inbox_backup,
    write_identity_backup,
    write_inbox_backup,
)
from keytool.cases import Case
from keytool.cases import Inbox as CaseInbox
from keytool.desk.state import DEFAULT_EVERY
from keytool.errors import KeyToolError
from keytool.home import write_private
from keytool.identity import (
    IDENTITY_FILE,
    Identity,
    check_passphrase,
    create_identity,
    load_identity,
    load_public,
    rotate_identity,
    save_identity,
)
from keytool.inbox import Inbox
from keytool.present import (
    as_json,
    case_json,
    clean,
    inbox_summary,
    thread,
    unreadable_json,
    unreadable_line,
)
from keytool.recovery import (
    TypedLine,
    fingerprint,
    identity_from_sheet,
    read_line,
    sheet_html,
    sheet_lines,
    unlock_sheet,
)
from keytool.roster import completion, load_course_info, load_staff, people, school_names
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
from keytool.send import send_note, send_receipt, send_reply
from keytool.session import Session
from keytool.settings import Settings, load_settings, remembered_location, save_settings
from keytool.stats import compute
from keytool.stats_report import to_csv as to_stats_csv
from keytool.stats_report import to_html as to_stats_html
from keytool.stats_report import to_text as stats_text
from quietdoor.config import load_config, recipient_snippet
from quietdoor.errors import QuietDoorError
from quietdoor.payloads import DISPOSITIONS, STATUSES, Training
from quietdoor.protocol import SLUG_RE

DEFAULT_OVERLAP_DAYS = 30


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # whatever else writes in the home (SQLite's journal) is private too
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyToolError as exc:
        print(f"keytool: {clean(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keytool: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `list --json | head` closed its end: stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m keytool",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--home",
        type=Path,
        default=Path.home() / ".quietdoor",
        help="folder for your keys and inbox (default ~/.quietdoor)",
    )
    p.add_argument(
        "--config",
        help="the deployment config: who your colleagues are and whom replies go to (remembered)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create your keys")
    init.add_argument("--id", required=True, help="short id for you, e.g. dana-ortiz")
    init.add_argument("--name", required=True, help="your name as colleagues know it")
    init.add_argument("--school", action="append", default=[], help="a school you read (repeat)")
    init.add_argument(
        "--district", action="append", default=[], help="a district you read (repeat)"
    )
    init.add_argument("--relay", help="the relay URL, e.g. https://relay.example.org")
    init.set_defaults(run=cmd_init)

    desk = sub.add_parser("desk", help="the inbox in your browser, on this computer only")
    desk.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    desk.add_argument("--relay", help="the relay URL (remembered from init or fetch)")
    desk.add_argument(
        "--every",
        type=int,
        default=DEFAULT_EVERY,
        help=f"seconds between checks for new messages (default {DEFAULT_EVERY})",
    )
    desk.add_argument("--open", action="store_true", help="open the link in your browser")
    desk.set_defaults(run=cmd_desk)

    fetch = sub.add_parser("fetch", help="download new messages")
    fetch.add_argument("--relay", help="the relay URL (remembered from init)")
    fetch.add_argument(
        "--school",
        action="append",
        default=[],
        help="only this school (repeat); default: every school the relay says you read",
    )
    fetch.set_defaults(run=cmd_fetch)

    lst = sub.add_parser("list", help="the cases in the inbox")
    lst.add_argument("--school", help="only this school")
    lst.add_argument("--json", action="store_true", help="one JSON document, for machines")
    lst.set_defaults(run=cmd_list)

    show = sub.add_parser("show", help="one case's conversation")
    show.add_argument("case", help="the case id shown by `list` (or its first characters)")
    show.add_argument("--json", action="store_true", help="JSON, for machines")
    show.set_defaults(run=cmd_show)

    reply = sub.add_parser("reply", help="answer the student on a case")
    reply.add_argument("case", help="the case id shown by `list`")
    reply.add_argument("--message", help="the reply; without it, read from standard input")
    reply.set_defaults(run=cmd_reply)

    note = sub.add_parser("note", help="set a case's status, for colleagues only")
    note.add_argument("case", help="the case id shown by `list`")
    note.add_argument("--status", required=True, choices=STATUSES, help="where the case stands")
    note.add_argument(
        "--disposition",
        default="",
        choices=[d for d in DISPOSITIONS if d],
        help="what was done: cps, police, school, no_action or junk",
    )
    note.add_argument("--message", default="", help="a private note for colleagues (optional)")
    note.set_defaults(run=cmd_note)

    rotate = sub.add_parser("rotate", help="make new keys; print the config lines to publish")
    rotate.add_argument(
        "--overlap-days",
        type=_overlap_days,
        default=DEFAULT_OVERLAP_DAYS,
        help="days the relay still accepts reports sealed to the old key "
        f"(default {DEFAULT_OVERLAP_DAYS}; 0 after a loss or a leak)",
    )
    rotate.set_defaults(run=cmd_rotate)

    backup = sub.add_parser("backup", help="encrypted backups and a printable recovery sheet")
    backup.add_argument("--to", type=Path, help="write a backup of your keys to this file")
    backup.add_argument(
        "--inbox-to", type=Path, help="write a backup of the inbox to this file (no passphrase)"
    )
    backup.add_argument(
        "--sheet", type=Path, help="write a printable recovery sheet (HTML) to this file"
    )
    backup.set_defaults(run=cmd_backup)

    restore = sub.add_parser("restore", help="bring back your keys or inbox")
    source = restore.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", type=Path, help="a file `backup` wrote")
    source.add_argument(
        "--sheet", action="store_true", help="type the lines of your recovery sheet"
    )
    restore.add_argument("--relay", help="the relay URL (remembered)")
    restore.set_defaults(run=cmd_restore)

    roster = sub.add_parser("roster", help="export the staff training roster")
    roster.add_argument(
        "--modules",
        help="the course's training/course.json: its URL or the built site folder (remembered)",
    )
    roster.add_argument("--school", help="only this school")
    roster.add_argument(
        "--staff",
        type=Path,
        help="a staff list (CSV: name, role, school, start_date) of who should have trained",
    )
    roster.add_argument(
        "--on", type=_date_arg, help="the roster as of this date, YYYY-MM-DD (default: today)"
    )
    roster.add_argument("--csv", type=Path, help="write a row per person as CSV to this file")
    roster.add_argument(
        "--detail-csv", type=Path, help="write a row per person and module as CSV to this file"
    )
    roster.add_argument("--html", type=Path, help="write a printable roster page to this file")
    roster.set_defaults(run=cmd_roster)

    stats = sub.add_parser("stats", help="reports per school and month, without any content")
    stats.add_argument("--from", dest="start", type=_date_arg, help="first day counted, YYYY-MM-DD")
    stats.add_argument("--to", dest="end", type=_date_arg, help="last day counted (default: today)")
    stats.add_argument("--school", help="only this school")
    stats.add_argument("--csv", type=Path, help="write a row per school and month to this file")
    stats.add_argument("--html", type=Path, help="write a printable page with charts to this file")
    stats.set_defaults(run=cmd_stats)
    return p


def _session(args: argparse.Namespace) -> Session:
    return Session.open(args.home, _passphrase(confirm=False), args.config)


def _read(session: Session, school: str | None = None) -> CaseInbox:
    """The inbox as cases; what cannot be read is named on stderr, the rest still shows."""
    result = session.read(school)
    for u in result.unreadable:
        print(f"keytool: {unreadable_line(u)}", file=sys.stderr)
    for warning in result.warnings:
        print(f"keytool: warning: {clean(warning)}", file=sys.stderr)
    return result


def cmd_init(args: argparse.Namespace) -> int:
    if not SLUG_RE.fullmatch(args.id):
        raise KeyToolError(f"--id {args.id!r}: use lowercase letters, digits and hyphens")
    for slug in [*args.school, *args.district]:
        if not SLUG_RE.fullmatch(slug):
            raise KeyToolError(f"{slug!r} is not a school or district slug")
    if not args.school and not args.district:
        raise KeyToolError("name at least one --school or --district that you will read")
    passphrase = _passphrase(confirm=True)
    identity = create_identity(
        args.home, args.id, args.name, passphrase, tuple(args.school), tuple(args.district)
    )
    settings = Settings(
        relay_url=args.relay or "",
        config=remembered_location(args.config) if args.config else "",
    )
    if settings != Settings():
        save_settings(args.home, settings)
    print(f"Your keys are in {args.home / 'identity.json'}, locked with your passphrase.")
    print("Keep a backup of that file somewhere safe: without it, reports sealed to you are lost.")
    print("Send these lines to whoever maintains the deployment config:\n")
    print(recipient_snippet(identity.recipient))
    return 0


def cmd_desk(args: argparse.Namespace) -> int:
    if not 10 <= args.every <= 86_400:
        raise KeyToolError("--every must be 10 to 86400 seconds")
    from keytool.desk.server import run_desk  # the web stack loads only for the desk

    run_desk(args.home, args.config, args.relay, args.port, args.every, args.open)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    session = _session(args)
    session.fetch(
        session.relay(args.relay),
        args.school,
        progress=lambda school, added: print(f"{school}: {added} new", flush=True),
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    session = _session(args)
    inbox = _read(session, args.school)
    session.remember()
    if args.json:
        print(
            as_json(
                {
                    "cases": [case_json(c, with_messages=False) for c in inbox.cases],
                    "unreadable": [unreadable_json(u) for u in inbox.unreadable],
                    "warnings": inbox.warnings,
                }
            )
        )
        return 0
    for line in inbox_summary(inbox):
        print(line)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    session = _session(args)
    case = _find(_read(session), args.case)
    if args.json:
        print(as_json(case_json(case, with_messages=True)))
    else:
        print(thread(case, session.colleagues))
    session.remember()
    if case.needs_receipt():
        try:
            with Inbox(args.home) as store:
                send_receipt(session.relay(), store, session.writer, session.colleagues, case)
        except KeyToolError as exc:
            print(
                f"keytool: the student was not told that the school read this yet: "
                f"{clean(str(exc))}",
                file=sys.stderr,
            )
    return 0


def cmd_reply(args: argparse.Namespace) -> int:
    session = _session(args)
    case = _find(_read(session), args.case)
    text = args.message if args.message is not None else sys.stdin.read()
    with Inbox(args.home) as store:
        message_id = send_reply(
            session.relay(), store, session.writer, session.colleagues, case, text
        )
    session.remember()
    print(f"Sent to case {case.ref} as message {message_id}. The student reads it with their code.")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    session = _session(args)
    case = _find(_read(session), args.case)
    with Inbox(args.home) as store:
        message_id = send_note(
            session.relay(),
            store,
            session.writer,
            session.colleagues,
            case,
            status=args.status,
            disposition=args.disposition,
            text=args.message,
        )
    session.remember()
    print(
        f"Case {case.ref} is now {args.status}; saved as message {message_id}. "
        "Your colleagues see it after their next fetch; the student never does."
    )
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    today = datetime.date.today()
    until = today + datetime.timedelta(days=args.overlap_days)
    identity = rotate_identity(args.home, _passphrase(confirm=False), until)
    current = dataclasses.replace(
        identity.recipient,
        previous=tuple(p for p in identity.recipient.previous if p.until >= today),
    )
    print("New keys are made. Your old keys stay in this home: what was sealed to them opens.")
    print(
        "Until the deployment config lists the new keys, this tool keeps signing with the old "
        "ones, so nothing stops."
    )
    print(
        f"Students' pages that still hold your old key are accepted until {until.isoformat()} "
        "(UTC)."
    )
    print("Make a new backup now: earlier backups do not hold the new keys.")
    print("Send these lines to whoever maintains the deployment config; they replace yours:\n")
    print(recipient_snippet(current))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    if not (args.to or args.inbox_to or args.sheet):
        raise KeyToolError("say what to write: --to FILE, --inbox-to FILE or --sheet FILE")
    if args.to or args.sheet:
        passphrase = _passphrase(confirm=False)
        if args.to:
            identity = write_identity_backup(args.home, passphrase, args.to)
            print(f"Your keys are backed up in {args.to}, locked with your passphrase.")
        else:
            identity = load_identity(args.home, passphrase)
        if args.sheet:
            lines = sheet_lines(identity, passphrase)
            page = sheet_html(identity, lines, datetime.date.today())
            write_private(args.sheet, page.encode("utf-8"))
            print(
                f"The recovery sheet is in {args.sheet} ({len(lines)} lines). Open it in a "
                "browser, print it, check the print, then delete the file."
            )
    if args.inbox_to:
        counts = write_inbox_backup(args.home, load_public(args.home).x25519, args.inbox_to)
        print(
            f"The inbox ({counts.messages} messages) is backed up in {args.inbox_to}, "
            "sealed to your keys."
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if args.sheet:
        return _restore_sheet(args)
    if backup_kind(args.source) == INBOX_FORMAT:
        session = _session(args)
        counts = restore_inbox_backup(args.home, session.identity, args.source)
        print(f"{counts.messages} messages added to the inbox from {args.source}.")
        return 0
    identity = restore_identity_backup(args.home, _passphrase(confirm=False), args.source)
    _remember_after_restore(args, identity)
    return 0


def _restore_sheet(args: argparse.Namespace) -> int:
    if (args.home / IDENTITY_FILE).exists():
        raise KeyToolError(
            f"{args.home / IDENTITY_FILE} already exists; keys are never overwritten"
        )
    config = args.config or load_settings(args.home).config
    if not config:
        raise KeyToolError(
            "restoring from the sheet needs the deployment config: pass --config PATH"
        )
    try:
        deployment = load_config(Path(config))
    except QuietDoorError as exc:
        raise KeyToolError(f"the deployment config: {exc}") from None
    lines = _sheet_input()
    passphrase = _passphrase(confirm=False)
    current, previous = unlock_sheet(lines, passphrase)
    identity = identity_from_sheet(current, previous, deployment)
    save_identity(args.home, identity, passphrase, replace=False)
    args.config = config
    args.relay = args.relay or deployment.relay_url
    _remember_after_restore(args, identity)
    return 0


def _sheet_input() -> list[TypedLine]:
    """The sheet's lines: asked one by one at a keyboard (a typo is asked again), else stdin."""
    if not sys.stdin.isatty():
        typed = [line for line in sys.stdin.read().splitlines() if line.strip()]
        return [read_line(n, line) for n, line in enumerate(typed, 1)]
    print("Type each line of the recovery sheet, with its last character.")
    print("Press Enter on an empty line when every line is typed.")
    lines: list[TypedLine] = []
    while True:
        try:
            text = input(f"Line {len(lines) + 1}: ")
        except EOFError:
            raise KeyToolError("stopped before the last line; nothing was restored") from None
        if not text.strip():
            if lines:
                return lines
            continue
        try:
            lines.append(read_line(len(lines) + 1, text))
        except KeyToolError as exc:
            print(clean(str(exc)))


def _remember_after_restore(args: argparse.Namespace, identity: Identity) -> None:
    r = identity.recipient
    settings = load_settings(args.home)
    if args.config:
        settings = dataclasses.replace(settings, config=remembered_location(args.config))
    if args.relay:
        settings = dataclasses.replace(settings, relay_url=args.relay)
    if settings != Settings():
        save_settings(args.home, settings)
    print(f"Keys restored for {clean(r.name)} ({clean(r.id)}) in {args.home}.")
    print(f"Key fingerprint: {fingerprint(r.x25519)} (the recovery sheet shows the same).")
    print("Next: fetch, to download your reports again from the relay.")


def cmd_roster(args: argparse.Namespace) -> int:
    session = _session(args)
    source = remembered_location(args.modules) if args.modules else session.settings.modules
    if not source:
        raise KeyToolError(
            "where is the course? pass --modules https://…/training/course.json or the dist folder"
        )
    course = load_course_info(source)
    completions = [
        completion(e.stored.id, e.stored.received, e.payload)
        for e in _read(session, args.school).training
        if isinstance(e.payload, Training)
    ]
    mine = session.identity.recipient
    slugs = {c.school for c in completions} | set(mine.schools)
    names = school_names(course, sorted(slugs), mine.districts)
    staff = load_staff(args.staff, names) if args.staff else []
    if args.school:
        staff = [m for m in staff if m.school == args.school]
    roster = Roster(
        course=course,
        people=people(completions, staff),
        names=names,
        today=args.on or datetime.date.today(),
        staff_list=bool(args.staff),
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
        print(f"{len(roster.people)} people: {parts or 'no records yet'}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    if args.start and args.end and args.end < args.start:
        raise KeyToolError("--to is before --from")
    session = _session(args)
    inbox = _read(session, args.school)
    colleagues = session.colleagues
    mine = session.identity.recipient
    schools = [args.school] if args.school else colleagues.schools_of(mine)
    today = datetime.date.today()
    numbers = compute(inbox.cases, schools, args.start, args.end, today)
    session.remember()
    name = colleagues.school_name
    if args.csv:
        write_private(args.csv, to_stats_csv(numbers, name).encode("utf-8"))
    if args.html:
        organisation = colleagues.deployment.organisation if colleagues.deployment else ""
        page = to_stats_html(numbers, name, organisation, today)
        write_private(args.html, page.encode("utf-8"))
    if not (args.csv or args.html):
        print(clean("\n".join(stats_text(numbers, name)), lines=True))
    else:
        reports = sum(numbers.total(s).reports for s in numbers.schools)
        print(
            f"{reports} reports in {len(numbers.schools)} schools, "
            f"{numbers.start.isoformat()} to {numbers.end.isoformat()}"
        )
    return 0


def _date_arg(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-30") from None


def _overlap_days(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of days from 0 to 366")
    return int(text)


def _find(inbox: CaseInbox, ref: str) -> Case:
    try:
        return inbox.find(ref)
    except LookupError as exc:
        raise KeyToolError(str(exc)) from None


def _passphrase(confirm: bool) -> str:
    from_env = os.environ.get("QUIETDOOR_PASSPHRASE")
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise KeyToolError("no passphrase: run at a keyboard, or set QUIETDOOR_PASSPHRASE")
    try:
        first = getpass.getpass("Passphrase: ")
        if confirm:
            check_passphrase(first)
            if getpass.getpass("Same passphrase again: ") != first:
                raise KeyToolError("the two passphrases differ; nothing was created")
    except EOFError:
        raise KeyToolError("no passphrase was entered") from None
    return first


if __name__ == "__main__":
    sys.exit(main())
