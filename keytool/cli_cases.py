"""The commands that work the inbox: desk, fetch, list, show, reply, note."""

from __future__ import annotations

import argparse
import sys

from keytool.cli_args import AddCommand, Subparsers
from keytool.desk.runtime import DEFAULT_EVERY, DEFAULT_IDLE_MINUTES
from keytool.errors import KeyToolError
from keytool.inbox import Inbox
from keytool.present import (
    as_json,
    case_json,
    clean,
    inbox_summary,
    thread,
    unreadable_json,
)
from keytool.prompt import find_case, open_session, read_cases
from keytool.send import send_note, send_receipt, send_reply
from quietdoor.clock import Clock
from quietdoor.payloads import DISPOSITIONS, STATUSES


def cmd_desk(args: argparse.Namespace) -> int:
    if not 10 <= args.every <= 86_400:
        raise KeyToolError("--every must be 10 to 86400 seconds")
    if not 1 <= args.idle_minutes <= 1440:
        raise KeyToolError("--idle-minutes must be 1 to 1440")
    from keytool.desk.server import run_desk  # the web stack loads only for the desk

    run_desk(
        args.home, args.config, args.relay, args.port, args.every, args.idle_minutes, args.open
    )
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    session = open_session(args)
    relay = session.relay(args.relay)
    session.fetch(
        relay,
        args.school,
        progress=lambda school, added: print(f"{school}: {added} new", flush=True),
        warn=lambda text: print(f"keytool: warning: {clean(text)}", file=sys.stderr),
    )
    _warn(relay.warnings)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    session = open_session(args)
    held = session.held(args.school)
    inbox = read_cases(session, args.school)
    session.remember()
    _warn(session.acknowledge_seen(held))
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
    for line in inbox_summary(inbox, Clock(session.colleagues.deployment)):
        print(line)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    session = open_session(args)
    held = session.held()
    inbox = read_cases(session)
    case = find_case(inbox, args.case)
    if args.json:
        print(as_json(case_json(case, with_messages=True)))
    else:
        print(thread(case, session.colleagues, Clock(session.colleagues.deployment)))
    session.remember()
    shown = {case.school: held[case.school]} if case.school in held else {}
    # Training records ask nothing of a person: they never hold the school's `seen` back,
    # or a lead who reads with `show` alone would be alerted about them without end.
    training = {e.stored.id for e in inbox.training if e.stored.school == case.school}
    _warn(session.acknowledge_seen(shown, only=case.message_ids | training))
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
    session = open_session(args)
    case = find_case(read_cases(session), args.case)
    text = args.message if args.message is not None else sys.stdin.read()
    with Inbox(args.home) as store:
        message_id = send_reply(
            session.relay(), store, session.writer, session.colleagues, case, text
        )
    session.remember()
    print(f"Sent to case {case.ref} as message {message_id}. The student reads it with their code.")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    session = open_session(args)
    case = find_case(read_cases(session), args.case)
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


def add_desk(sub: Subparsers) -> None:
    desk = sub.add_parser("desk", help="the inbox in your browser, on this computer only")
    desk.add_argument("--port", type=int, default=0, help="port on loopback (default: a free one)")
    desk.add_argument("--relay", help="the relay URL (remembered from init or fetch)")
    desk.add_argument(
        "--every",
        type=int,
        default=DEFAULT_EVERY,
        help=f"seconds between checks for new messages (default {DEFAULT_EVERY})",
    )
    desk.add_argument(
        "--idle-minutes",
        type=int,
        default=DEFAULT_IDLE_MINUTES,
        help=f"lock after this many minutes without use (default {DEFAULT_IDLE_MINUTES})",
    )
    desk.add_argument("--open", action="store_true", help="open the link in your browser")
    desk.set_defaults(run=cmd_desk)


def add_fetch(sub: Subparsers) -> None:
    fetch = sub.add_parser("fetch", help="download new messages")
    fetch.add_argument("--relay", help="the relay URL (remembered from init)")
    fetch.add_argument(
        "--school",
        action="append",
        default=[],
        help="only this school (repeat); default: every school the relay says you read",
    )
    fetch.set_defaults(run=cmd_fetch)


def add_list(sub: Subparsers) -> None:
    lst = sub.add_parser("list", help="the cases in the inbox")
    lst.add_argument("--school", help="only this school")
    lst.add_argument("--json", action="store_true", help="one JSON document, for machines")
    lst.set_defaults(run=cmd_list)


def add_show(sub: Subparsers) -> None:
    show = sub.add_parser("show", help="one case's conversation")
    show.add_argument("case", help="the case id shown by `list` (or its first characters)")
    show.add_argument("--json", action="store_true", help="JSON, for machines")
    show.set_defaults(run=cmd_show)


def add_reply(sub: Subparsers) -> None:
    reply = sub.add_parser("reply", help="answer the student on a case")
    reply.add_argument("case", help="the case id shown by `list`")
    reply.add_argument("--message", help="the reply; without it, read from standard input")
    reply.set_defaults(run=cmd_reply)


def add_note(sub: Subparsers) -> None:
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


COMMANDS: dict[str, AddCommand] = {
    "desk": add_desk,
    "fetch": add_fetch,
    "list": add_list,
    "show": add_show,
    "reply": add_reply,
    "note": add_note,
}


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"keytool: {clean(warning)}", file=sys.stderr)
