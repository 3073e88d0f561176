"""quietdoor-keytool --home DIR COMMAND: the safeguarding lead's keys, inbox and replies.

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
import os
import sys
from pathlib import Path

from keytool import cli_cases, cli_keys, cli_reports
from keytool.errors import KeyToolError
from keytool.present import clean

COMMANDS = {**cli_keys.COMMANDS, **cli_cases.COMMANDS, **cli_reports.COMMANDS}
# The order of the help, as the docstring above lists the commands.
ORDER = (
    "init", "desk", "fetch", "list", "show", "reply", "note",
    "rotate", "backup", "restore", "roster", "stats",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # whatever else writes in the home (SQLite's journal) is private too
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyToolError as exc:
        print(f"keytool: {clean(str(exc))}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="quietdoor-keytool",
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
    for name in ORDER:
        COMMANDS[name](sub)
    return p
