"""How long the desk takes to show the inbox, and `list` to print it, with years of cases.

    python bench/desk_inbox.py [CASES ...]    (default: 100 1000 5000 10000)

For each size, fills a fresh key-tool home with that many cases (a report, a read
receipt and a staff note each: three signed or sealed messages; all but the newest
50 closed), then times what one visit to the inbox does: read the inbox, open and
check what is new to the index (Session.read), shape the rows, and render the page
(its first 200 calm or closed cases, as the desk does). Unlocking is not timed.

- rebuild: the first visit ever, which opens every message and writes the index;
- first: the first visit after unlocking with the index present (a new session);
- later: the next visits, while no message arrives;
- one new: the visit after one more case (three messages) arrives, which opens
  them and writes the index again;
- list: `keytool list` after unlocking (read and print every case's line).

Also prints "first" per case and its ratio to the smallest size's (the baseline,
in the same run): near 1.0 means the cost grows linearly. A second line, "cpu",
gives the same figures in this process's CPU seconds, which a busy shared
machine does not inflate.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keytool.client import Row  # noqa: E402
from keytool.desk.app import HERE  # noqa: E402
from keytool.desk.views import OTHER_CASES, inbox_rows  # noqa: E402
from keytool.identity import Identity, create_identity  # noqa: E402
from keytool.inbox import Inbox  # noqa: E402
from keytool.present import inbox_summary  # noqa: E402
from keytool.prompt import read_cases  # noqa: E402
from keytool.session import Session  # noqa: E402
from quietdoor import payloads, protocol  # noqa: E402
from quietdoor.clock import Clock  # noqa: E402

PASS = "a benchmark passphrase, long enough"
SCHOOL = "lincoln-high"
OPEN = 50  # the newest cases are in progress; years of older ones are closed


def fill(home: Path, me: Identity, cases: int, first_cursor: int = 0) -> None:
    signer = payloads.Signer(me.recipient.id, b"")
    cursor = first_cursor
    with Inbox(home) as inbox:
        for n in range(cases):
            keys = protocol.CaseKeys.derive(protocol.new_case_code())
            report = payloads.Report(
                payloads.Header.new("report", SCHOOL, keys.case_id),
                "en",
                bytes(keys.reply_key.public_key),
                payloads.Answers(
                    f"report {n} " + "words " * 60, ("no", "unsure", "yes")[n % 3], ""
                ),
                bytes(keys.update_key.verify_key),
            )
            receipt = payloads.sign(
                payloads.Receipt(payloads.Header.new("receipt", SCHOOL, keys.case_id), signer),
                me.signing_key,
                me.recipient.id,
            )
            note = payloads.sign(
                payloads.Note(
                    payloads.Header.new("note", SCHOOL, keys.case_id),
                    "in_progress" if cases - n <= OPEN else "closed",
                    "",
                    "A note.",
                    signer,
                    b"",
                ),
                me.signing_key,
                me.recipient.id,
            )
            rows = []
            for payload, author, on_case in (
                (report, "public", True),
                (receipt, "staff", True),
                (note, "staff", False),
            ):
                cursor += 1
                sealed_to = [me.recipient.x25519]
                if on_case:
                    sealed_to.append(bytes(keys.reply_key.public_key))
                rows.append(
                    Row(
                        cursor=cursor,
                        id=secrets.token_hex(12),
                        received="2026-11-28",
                        case_id=keys.case_id if on_case else None,
                        author=author,  # type: ignore[arg-type]
                        envelope=payloads.seal_payload(payload, sealed_to),
                    )
                )
            inbox.add_page("http://bench.invalid", SCHOOL, rows)


class Took(NamedTuple):
    wall: float
    cpu: float  # this process's CPU seconds: what a busy shared machine does not inflate


def _since(wall: float, cpu: float) -> Took:
    return Took(time.perf_counter() - wall, time.process_time() - cpu)


def visit(session: Session) -> Took:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    template = env.get_template("inbox.html.j2")
    wall, cpu = time.perf_counter(), time.process_time()
    inbox = session.read()
    rows = inbox_rows(
        inbox, session.colleagues, Clock(session.colleagues.deployment), "", OTHER_CASES
    )
    template.render(
        rows=rows,
        hidden=len(inbox.cases) - len(rows),
        more=OTHER_CASES * 2,
        schools=[],
        school="",
        unreadable=0,
        warnings=0,
        me="",
        unlocked=True,
        checked=None,
        checked_at="",
        checking=False,
        fetches=0,
        no_config=False,
        request={"url": {"path": "/"}},
    )
    return _since(wall, cpu)


def list_cases(session: Session) -> Took:
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(io.StringIO()):
        lines = inbox_summary(read_cases(session), Clock(session.colleagues.deployment))
    assert len(lines) > 0
    return _since(wall, cpu)


def main(sizes: list[int]) -> None:
    baseline = None
    print(
        f"{'cases':>7} {'messages':>9} {'rebuild (s)':>12} {'first (s)':>10} {'later (s)':>10} "
        f"{'one new (s)':>12} {'list (s)':>9} {'per case (ms)':>14} {'ratio':>6}"
    )
    for cases in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            me = create_identity(home, "dana-ortiz", "Dana Ortiz", PASS, (SCHOOL,), ())
            fill(home, me, cases)
            rebuild = visit(Session.open(home, PASS))
            session = Session.open(home, PASS)
            first = visit(session)
            later = min(visit(session) for _ in range(3))
            fill(home, me, 1, first_cursor=cases * 3)
            one_new = visit(session)
            listed = list_cases(Session.open(home, PASS))
        per_case = first.wall / cases
        baseline = baseline or per_case
        took = (rebuild, first, later, one_new, listed)
        widths = (12, 10, 10, 12, 9)
        walls = " ".join(f"{t.wall:>{w}.3f}" for t, w in zip(took, widths, strict=True))
        cpus = " ".join(f"{t.cpu:>{w}.3f}" for t, w in zip(took, widths, strict=True))
        ratio = f"{per_case * 1000:>14.3f} {per_case / baseline:>6.2f}"
        print(f"{cases:>7} {cases * 3:>9} {walls} {ratio}", flush=True)
        print(f"{'cpu':>7} {'':>9} {cpus}", flush=True)


if __name__ == "__main__":
    os.umask(0o077)
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000, 10000])
