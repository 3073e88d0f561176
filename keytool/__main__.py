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
import datetime
import os
import sys
from pathlib import Path

from keytool.cli_cases import cmd_desk, cmd_fetch, cmd_list, cmd_note, cmd_reply, cmd_show
from keytool.cli_keys import cmd_backup, cmd_init, cmd_restore, cmd_rotate
from keytool.cli_reports import cmd_roster, cmd_stats
from keytool.desk.runtime import DEFAULT_EVERY
from keytool.errors import KeyToolError
from keytool.present import clean
from quietdoor.payloads import DISPOSITIONS, STATUSES

DEFAULT_OVERLAP_DAYS = 30


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # whatever else writes in the home (SQLite's journal) is private too
    args = build_parser().parse_args(argv)
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


def build_parser() -> argparse.ArgumentParser:
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


def _date_arg(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-30") from None


def _overlap_days(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of days from 0 to 366")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
