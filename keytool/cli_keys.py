"""The commands that keep keys: init, rotate, backup, restore (from a file or the sheet)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
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
from keytool.cli_args import AddCommand, Subparsers
from keytool.directory import load_deployment
from keytool.errors import KeyToolError
from keytool.home import write_private
from keytool.identity import (
    IDENTITY_FILE,
    Identity,
    create_identity,
    load_identity,
    load_public,
    rotate_identity,
    save_identity,
)
from keytool.present import clean
from keytool.prompt import ask_passphrase, open_session
from keytool.recovery import (
    TypedLine,
    fingerprint,
    identity_from_sheet,
    read_line,
    sheet_html,
    sheet_lines,
    unlock_sheet,
)
from keytool.settings import load_settings, remembered_location, update_settings
from keytool.words import plural
from quietdoor.clock import Clock
from quietdoor.config import load_config, recipient_snippet
from quietdoor.errors import QuietDoorError
from quietdoor.protocol import SLUG_RE


def cmd_init(args: argparse.Namespace) -> int:
    if not SLUG_RE.fullmatch(args.id):
        raise KeyToolError(f"--id {args.id!r}: use lowercase letters, digits and hyphens")
    for slug in [*args.school, *args.district]:
        if not SLUG_RE.fullmatch(slug):
            raise KeyToolError(f"{slug!r} is not a school or district slug")
    if not args.school and not args.district:
        raise KeyToolError("name at least one --school or --district that you will read")
    passphrase = ask_passphrase(confirm=True)
    identity = create_identity(
        args.home, args.id, args.name, passphrase, tuple(args.school), tuple(args.district)
    )
    update_settings(args.home, **_given(args))
    print(f"Your keys are in {args.home / 'identity.json'}, locked with your passphrase.")
    print("Keep a backup of that file somewhere safe: without it, reports sealed to you are lost.")
    print("Send these lines to whoever maintains the deployment config:\n")
    print(recipient_snippet(identity.recipient))
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    # The config only names the zone the last day is shown in: one that cannot be read
    # (a lead rotating in a hurry after losing a laptop) must not stop the rotation.
    try:
        clock = Clock(load_deployment(args.config or load_settings(args.home).config))
    except KeyToolError as exc:
        print(f"keytool: {exc}; days are shown in this computer's zone", file=sys.stderr)
        clock = Clock(None)
    today = datetime.datetime.now(datetime.UTC).date()  # `until` is a UTC day (quietdoor.rotation)
    until = today + datetime.timedelta(days=args.overlap_days)
    identity = rotate_identity(args.home, ask_passphrase(confirm=False), until)
    current = dataclasses.replace(
        identity.recipient,
        previous=tuple(p for p in identity.recipient.previous if p.until >= today),
    )
    print("New keys are made. Your old keys stay in this home: what was sealed to them opens.")
    print(
        "Until the deployment config lists the new keys, this tool keeps signing with the old "
        "ones, so nothing stops."
    )
    ends = datetime.datetime.combine(
        until + datetime.timedelta(days=1), datetime.time(), datetime.UTC
    )
    print(
        "Students' pages that still hold your old key are accepted until the end of "
        f"{clock.relay_day(until.isoformat())}, which is {clock.at(ends)} in {clock.zone_name()}."
    )
    print("Make a new backup now: earlier backups do not hold the new keys.")
    print("Send these lines to whoever maintains the deployment config; they replace yours:\n")
    print(recipient_snippet(current))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    if not (args.to or args.inbox_to or args.sheet):
        raise KeyToolError("say what to write: --to FILE, --inbox-to FILE or --sheet FILE")
    if args.to or args.sheet:
        passphrase = ask_passphrase(confirm=False)
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
        session = open_session(args)
        counts = restore_inbox_backup(
            args.home, session.identity, args.source, args.accept_unsigned
        )
        if counts.unsigned:
            print(
                f"keytool: warning: {args.source} is a version-1 backup, which carries no mac; "
                "restored as you asked. Its fetch positions were not used: fetch goes on from "
                "this inbox's own.",
                file=sys.stderr,
            )
        print(f"{plural(counts.messages, 'message')} added to the inbox from {args.source}.")
        return 0
    identity = restore_identity_backup(args.home, ask_passphrase(confirm=False), args.source)
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
    passphrase = ask_passphrase(confirm=False)
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
    update_settings(args.home, **_given(args))
    print(f"Keys restored for {clean(r.name)} ({clean(r.id)}) in {args.home}.")
    print(f"Key fingerprint: {fingerprint(r.x25519)} (the recovery sheet shows the same).")
    print("Next: fetch, to download your reports again from the relay.")


def _given(args: argparse.Namespace) -> dict[str, str]:
    """The settings this run was given (--relay, --config), to remember."""
    given = {"relay_url": args.relay} if args.relay else {}
    return given | ({"config": remembered_location(args.config)} if args.config else {})


DEFAULT_OVERLAP_DAYS = 30


def add_init(sub: Subparsers) -> None:
    init = sub.add_parser("init", help="create your keys")
    init.add_argument("--id", required=True, help="short id for you, e.g. dana-ortiz")
    init.add_argument("--name", required=True, help="your name as colleagues know it")
    init.add_argument("--school", action="append", default=[], help="a school you read (repeat)")
    init.add_argument(
        "--district", action="append", default=[], help="a district you read (repeat)"
    )
    init.add_argument("--relay", help="the relay URL, e.g. https://relay.example.org")
    init.set_defaults(run=cmd_init)


def add_rotate(sub: Subparsers) -> None:
    rotate = sub.add_parser("rotate", help="make new keys; print the config lines to publish")
    rotate.add_argument(
        "--overlap-days",
        type=_overlap_days,
        default=DEFAULT_OVERLAP_DAYS,
        help="days the relay still accepts reports sealed to the old key "
        f"(default {DEFAULT_OVERLAP_DAYS}; 0 after a loss or a leak)",
    )
    rotate.set_defaults(run=cmd_rotate)


def add_backup(sub: Subparsers) -> None:
    backup = sub.add_parser("backup", help="encrypted backups and a printable recovery sheet")
    backup.add_argument("--to", type=Path, help="write a backup of your keys to this file")
    backup.add_argument(
        "--inbox-to", type=Path, help="write a backup of the inbox to this file (no passphrase)"
    )
    backup.add_argument(
        "--sheet", type=Path, help="write a printable recovery sheet (HTML) to this file"
    )
    backup.set_defaults(run=cmd_backup)


def add_restore(sub: Subparsers) -> None:
    restore = sub.add_parser("restore", help="bring back your keys or inbox")
    source = restore.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", type=Path, help="a file `backup` wrote")
    source.add_argument(
        "--sheet", action="store_true", help="type the lines of your recovery sheet"
    )
    restore.add_argument("--relay", help="the relay URL (remembered)")
    restore.add_argument(
        "--accept-unsigned",
        action="store_true",
        help="restore a version-1 inbox backup (no mac), one you made yourself",
    )
    restore.set_defaults(run=cmd_restore)


def _overlap_days(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of days from 0 to 366")
    return int(text)


COMMANDS: dict[str, AddCommand] = {
    "init": add_init,
    "rotate": add_rotate,
    "backup": add_backup,
    "restore": add_restore,
}
