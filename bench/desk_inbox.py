"""How long the desk takes to show the inbox, which it decrypts and checks on every visit.

    python bench/desk_inbox.py [CASES ...]    (default: 100 1000 5000)

For each size, fills a fresh key-tool home with that many cases (a report, a read
receipt and a staff note each: three signed or sealed messages), then times what
one visit to the inbox does: read the stored envelopes, open and check every
message (Session.read), shape the rows, and render the page. The first visit
after the inbox changes opens everything; later ones reuse it until the next
message arrives. Prints both, the first per case, and the ratio of that per-case
time to the smallest size's (the baseline, in the same run): near 1.0 means the
cost grows linearly.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keytool.client import Row  # noqa: E402
from keytool.desk.app import HERE  # noqa: E402
from keytool.desk.views import inbox_rows  # noqa: E402
from keytool.identity import Identity, create_identity  # noqa: E402
from keytool.inbox import Inbox  # noqa: E402
from keytool.session import Session  # noqa: E402
from quietdoor import payloads, protocol  # noqa: E402
from quietdoor.clock import Clock  # noqa: E402

PASS = "a benchmark passphrase, long enough"
SCHOOL = "lincoln-high"


def fill(home: Path, me: Identity, cases: int) -> None:
    signer = payloads.Signer(me.recipient.id, b"")
    cursor = 0
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
                    "in_progress",
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


def visit(session: Session) -> float:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    template = env.get_template("inbox.html.j2")
    started = time.perf_counter()
    inbox = session.read()
    rows = inbox_rows(inbox, session.colleagues, Clock(session.colleagues.deployment))
    template.render(
        rows=rows,
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
    return time.perf_counter() - started


def main(sizes: list[int]) -> None:
    baseline = None
    print(
        f"{'cases':>7} {'messages':>9} {'first (s)':>10} {'later (s)':>10} "
        f"{'per case (ms)':>14} {'ratio':>6}"
    )
    for cases in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            me = create_identity(home, "dana-ortiz", "Dana Ortiz", PASS, (SCHOOL,), ())
            fill(home, me, cases)
            session = Session.open(home, PASS)
            first = visit(session)
            later = min(visit(session) for _ in range(3))
        per_case = first / cases
        baseline = baseline or per_case
        print(
            f"{cases:>7} {cases * 3:>9} {first:>10.3f} {later:>10.3f} "
            f"{per_case * 1000:>14.3f} {per_case / baseline:>6.2f}"
        )


if __name__ == "__main__":
    os.umask(0o077)
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])
