"""The commands that work the inbox: desk, fetch, list, show, reply, note."""

from __future__ import annotations

import argparse
import sys

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


def cmd_desk(args: argparse.Namespace) -> int:
    if not 10 <= args.every <= 86_400:
        raise KeyToolError("--every must be 10 to 86400 seconds")
    from keytool.desk.server import run_desk  # the web stack loads only for the desk

    run_desk(args.home, args.config, args.relay, args.port, args.every, args.open)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    session = open_session(args)
    session.fetch(
        session.relay(args.relay),
        args.school,
        progress=lambda school, added: print(f"{school}: {added} new", flush=True),
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    session = open_session(args)
    inbox = read_cases(session, args.school)
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
    session = open_session(args)
    case = find_case(read_cases(session), args.case)
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
