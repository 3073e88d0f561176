"""python -m keytool --home DIR COMMAND: the safeguarding lead's keys and inbox.

  init   create your keys and print the lines to add to the deployment config
  fetch  download new envelopes for your schools from the relay (signed request)
  list   decrypt and list what is in the inbox
  show   decrypt and show one report in full
  roster export the staff training roster: a row per person (CSV, printable page)

The passphrase is asked for at the keyboard, or read from QUIETDOOR_PASSPHRASE.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from keytool.client import fetch_page, my_schools
from keytool.errors import KeyToolError
from keytool.identity import Identity, check_passphrase, create_identity, load_identity
from keytool.inbox import Inbox, Item, Opened, open_items
from keytool.roster import (
    Completion,
    load_course_info,
    load_staff,
    parse_completion,
    people,
    school_names,
)
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
from keytool.settings import Settings, load_settings, save_settings
from quietdoor.config import SLUG_RE, recipient_snippet

SAFE_NOW = {
    "yes": "says they are safe now",
    "no": "says they are NOT safe now",
    "unsure": "is not sure they are safe",
    "": "did not say if they are safe",
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyToolError as exc:
        print(f"keytool: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keytool: stopped", file=sys.stderr)
        return 130


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

    fetch = sub.add_parser("fetch", help="download new envelopes")
    fetch.add_argument("--relay", help="the relay URL (remembered from init)")
    fetch.add_argument(
        "--school",
        action="append",
        default=[],
        help="only this school (repeat); default: every school the relay says you read",
    )
    fetch.set_defaults(run=cmd_fetch)

    lst = sub.add_parser("list", help="decrypt and list the inbox")
    lst.add_argument("--school", help="only this school")
    lst.add_argument("--json", action="store_true", help="one JSON document, for machines")
    lst.set_defaults(run=cmd_list)

    show = sub.add_parser("show", help="decrypt and show one report")
    show.add_argument("id", help="the id shown by `list`")
    show.add_argument("--json", action="store_true", help="JSON, for machines")
    show.set_defaults(run=cmd_show)

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
    return p


def cmd_init(args: argparse.Namespace) -> int:
    if not SLUG_RE.match(args.id):
        raise KeyToolError(f"--id {args.id!r}: use lowercase letters, digits and hyphens")
    for slug in [*args.school, *args.district]:
        if not SLUG_RE.match(slug):
            raise KeyToolError(f"{slug!r} is not a school or district slug")
    if not args.school and not args.district:
        raise KeyToolError("name at least one --school or --district that you will read")
    passphrase = _passphrase(confirm=True)
    identity = create_identity(
        args.home, args.id, args.name, passphrase, tuple(args.school), tuple(args.district)
    )
    if args.relay:
        save_settings(args.home, Settings(relay_url=args.relay))
    print(f"Your keys are in {args.home / 'identity.json'}, locked with your passphrase.")
    print("Keep a backup of that file somewhere safe: without it, reports sealed to you are lost.")
    print("Send these lines to whoever maintains the deployment config:\n")
    print(recipient_snippet(identity.recipient))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    identity = _unlock(args.home)
    settings = load_settings(args.home)
    relay = args.relay or settings.relay_url
    if not relay:
        raise KeyToolError("which relay? pass --relay https://relay.example.org")
    schools = args.school or my_schools(relay, identity.signing_key)
    inbox = Inbox(args.home)
    try:
        for school in schools:
            added = 0
            while True:
                page = fetch_page(relay, school, inbox.cursor(relay, school), identity.signing_key)
                added += inbox.add_page(relay, school, page["envelopes"])
                if not page.get("more") or not page["envelopes"]:
                    break
            print(f"{school}: {added} new")
    finally:
        inbox.close()
    if relay != settings.relay_url:
        save_settings(args.home, dataclasses.replace(settings, relay_url=relay))
    return 0


def _decrypt_inbox(
    home: Path, school: str | None, identity: Identity | None = None
) -> tuple[list[Opened], list[tuple[Item, str]]]:
    """Everything in the inbox that opens; the rest is reported by id on stderr and skipped."""
    identity = identity or _unlock(home)
    inbox = Inbox(home)
    try:
        results = list(open_items(inbox.items(school), identity.box_key))
    finally:
        inbox.close()
    opened = [r for r in results if isinstance(r, Opened)]
    failed = [r for r in results if not isinstance(r, Opened)]
    for item, reason in failed:
        print(f"keytool: skipped envelope {item.id} ({item.school}): {reason}", file=sys.stderr)
    return opened, failed


def cmd_list(args: argparse.Namespace) -> int:
    opened, failed = _decrypt_inbox(args.home, args.school)
    if args.json:
        json.dump(
            {
                "items": [_as_json(o) for o in opened],
                "skipped": [{"id": i.id, "school": i.school, "reason": r} for i, r in failed],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    if not opened:
        print("The inbox is empty." if not failed else "Nothing could be decrypted.")
    for o in opened:
        print(_summary(o))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    identity = _unlock(args.home)
    inbox = Inbox(args.home)
    try:
        item = inbox.item(args.id)
    finally:
        inbox.close()
    result = next(open_items([item], identity.box_key))
    if not isinstance(result, Opened):
        raise KeyToolError(f"envelope {item.id} cannot be shown: {result[1]}")
    if args.json:
        json.dump(_as_json(result), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(_full(result))
    return 0


def cmd_roster(args: argparse.Namespace) -> int:
    settings = load_settings(args.home)
    source = args.modules or settings.modules
    if not source:
        raise KeyToolError(
            "where is the course? pass --modules https://…/training/course.json or the dist folder"
        )
    course = load_course_info(source)
    identity = _unlock(args.home)
    opened, _ = _decrypt_inbox(args.home, args.school, identity)
    completions = [
        c
        for c in (
            parse_completion(o.item.id, o.item.school, o.item.received, o.payload) for o in opened
        )
        if c is not None
    ]
    mine = identity.recipient
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
    if source != settings.modules:
        save_settings(args.home, dataclasses.replace(settings, modules=source))
    if args.csv:
        _write(args.csv, to_csv(SUMMARY_COLUMNS, summary_rows(roster)))
    if args.detail_csv:
        _write(args.detail_csv, to_csv(DETAIL_COLUMNS, detail_rows(roster)))
    if args.html:
        _write(args.html, to_html(roster, "Staff training roster"))
    if not (args.csv or args.detail_csv or args.html):
        print(to_csv(SUMMARY_COLUMNS, summary_rows(roster)), end="")
    else:
        counts = roster.counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])
        print(f"{len(roster.people)} people: {parts or 'no records yet'}")
    return 0


def _date_arg(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-30") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KeyToolError(f"cannot write {path} ({exc.strerror})") from None


def _unlock(home: Path) -> Identity:
    return load_identity(home, _passphrase(confirm=False))


def _passphrase(confirm: bool) -> str:
    from_env = os.environ.get("QUIETDOOR_PASSPHRASE")
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise KeyToolError("no passphrase: run at a keyboard, or set QUIETDOOR_PASSPHRASE")
    first = getpass.getpass("Passphrase: ")
    if confirm:
        check_passphrase(first)
        if getpass.getpass("Same passphrase again: ") != first:
            raise KeyToolError("the two passphrases differ; nothing was created")
    return first


def _as_json(o: Opened) -> dict[str, Any]:
    return {
        "id": o.item.id,
        "school": o.item.school,
        "received": o.item.received,
        "payload": o.payload,
    }


def _answers(o: Opened) -> dict[str, str]:
    answers = o.payload.get("answers")
    if not isinstance(answers, dict):
        return {}
    return {k: v for k, v in answers.items() if isinstance(k, str) and isinstance(v, str)}


def _completion(o: Opened) -> Completion | None:
    return parse_completion(o.item.id, o.item.school, o.item.received, o.payload)


def _summary(o: Opened) -> str:
    kind = str(o.payload.get("type", "?"))
    completion = _completion(o)
    if completion is not None:
        return "  ".join((o.item.id, o.item.received, o.item.school, kind, _person(completion)))
    answers = _answers(o)
    first = " ".join(answers.get("what", "").split())
    if len(first) > 60:
        first = first[:57] + "..."
    safe = "NOT SAFE NOW" if answers.get("safe_now") == "no" else ""
    return "  ".join(x for x in (o.item.id, o.item.received, o.item.school, kind, safe, first) if x)


def _person(c: Completion) -> str:
    done = ", acknowledged" if c.acknowledgment else ""
    return f"{c.name or '?'} ({c.role or '?'}), {len(c.modules)} module(s){done}"


def _full(o: Opened) -> str:
    p = o.payload
    completion = _completion(o)
    if completion is not None:
        return "\n".join(
            [
                f"Envelope  {o.item.id}",
                f"School    {o.item.school}",
                f"Received  {o.item.received}",
                f"Training  {_person(completion)}; use `roster` for the details",
            ]
        )
    answers = _answers(o)
    lines = [
        f"Envelope  {o.item.id}",
        f"School    {o.item.school}",
        f"Received  {o.item.received} (written {p.get('written', '?')})",
        f"Language  {p.get('lang', '?')}",
        f"Type      {p.get('type', '?')}",
        "",
        f"The student {SAFE_NOW.get(answers.get('safe_now', ''), 'gave an unexpected answer')}.",
        "",
        "What is happening:",
        _indent(answers.get("what", "")),
        "",
        "Anything else:",
        _indent(answers.get("more", "") or "(nothing)"),
    ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines()) or "    (empty)"


if __name__ == "__main__":
    sys.exit(main())
