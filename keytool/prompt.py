"""What every command needs first: the passphrase, the unlocked session, the cases."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from keytool.cases import Case
from keytool.cases import Inbox as CaseInbox
from keytool.errors import KeyToolError
from keytool.identity import check_passphrase
from keytool.present import clean, unreadable_line
from keytool.session import Session

TRIES = 3


def ask_passphrase(confirm: bool) -> str:
    from_env = os.environ.get("QUIETDOOR_PASSPHRASE")
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise KeyToolError("no passphrase: run at a keyboard, or set QUIETDOOR_PASSPHRASE")
    try:
        if not confirm:
            return getpass.getpass("Passphrase: ")
        for _ in range(TRIES):  # a new passphrase: a short or mistyped one is asked again
            first = getpass.getpass("Passphrase: ")
            try:
                check_passphrase(first)
            except KeyToolError as exc:
                print(f"{exc}; try again", file=sys.stderr)
                continue
            if getpass.getpass("Same passphrase again: ") == first:
                return first
            print("the two passphrases differ; try again", file=sys.stderr)
    except EOFError:
        raise KeyToolError("no passphrase was entered") from None
    raise KeyToolError(f"no passphrase after {TRIES} tries; nothing was created")


def open_session(args: argparse.Namespace) -> Session:
    return Session.open(args.home, ask_passphrase(confirm=False), args.config)


def read_cases(session: Session, school: str | None = None) -> CaseInbox:
    """The inbox as cases; what cannot be read is named on stderr, the rest still shows."""
    result = session.read(school)
    for u in result.unreadable:
        print(f"keytool: {unreadable_line(u)}", file=sys.stderr)
    for warning in result.warnings:
        print(f"keytool: warning: {clean(warning)}", file=sys.stderr)
    return result


def find_case(inbox: CaseInbox, ref: str) -> Case:
    try:
        return inbox.find(ref)
    except LookupError as exc:
        raise KeyToolError(str(exc)) from None
