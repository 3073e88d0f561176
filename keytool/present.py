"""What the key tool prints: words a person reads, or exact JSON for scripts.

Every string that came from outside (what a student wrote, a school slug or an
id a relay sent) passes through `clean` before it reaches a terminal. Control
characters, escape sequences and bidirectional overrides are shown as visible
escapes such as \\x1b or \\u202e, so a crafted message cannot move the cursor,
recolour the screen, rewrite another line or reorder what the lead reads. The
zero-width joiner is escaped too (\\u200d): it joins emoji, but it also hides
inside words that then look like others.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from keytool.cases import Case, Entry, Inbox, Unreadable, relay_order
from keytool.directory import Colleagues
from quietdoor import payloads
from quietdoor.clock import Clock
from quietdoor.encoding import b64u_encode

# Unicode categories shown escaped: controls, format characters (bidi, zero-width
# characters including the joiner), line and paragraph separators, surrogates.
ESCAPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
FORK = "changed by two colleagues at once"

SAFE_NOW = {
    "yes": "says they are safe now",
    "no": "says they are NOT SAFE NOW",
    "unsure": "is NOT SURE they are safe",
    "": "did not say if they are safe",
}
FLAGS = {"no": "NOT SAFE NOW", "unsure": "NOT SURE"}
KIND_TITLES = {
    "report": "Report from the student",
    "update": "The student added",
    "reply": "Reply from",
    "receipt": "Opened by",
    "note": "Note by",
}
ATTENTION = {"new": "NEW", "new message": "NEW MESSAGE", "": "read"}


def clean(text: str, *, lines: bool = False) -> str:
    """text with every character that could steer a terminal shown as a visible escape.

    Every character escaped here (a tab, a line break, any of ESCAPED) fails
    str.isprintable, so printable text, nearly all of it, comes back as it is.
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if lines and char == "\n":
            out.append(char)
        elif char == "\t":
            out.append("    " if lines else "\\t")
        elif unicodedata.category(char) in ESCAPED:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def as_json(document: Any) -> str:
    """Exact JSON, with every non-ASCII character escaped: safe to print, and the same data."""
    return json.dumps(document, ensure_ascii=True, indent=2)


def case_line(case: Case, clock: Clock) -> str:
    flag = FLAGS.get(case.safe_now, "")
    report = case.report
    first = " ".join(report.answers.what.split()) if report else ""
    if len(first) > 60:
        first = first[:57] + "..."
    parts = [
        case.ref,
        came_in(case, clock),
        clean(case.school),
        f"{len(case.entries)} msg",
        ATTENTION[case.attention],
        case.status,
        flag,
        "" if case.provable else f"({payloads.NOT_PROVABLE})",
        f"({FORK})" if case.chain.fork else "",
        clean(first),
    ]
    return "  ".join(p for p in parts if p)


def unreadable_line(u: Unreadable) -> str:
    return f"skipped message {clean(u.id)} ({clean(u.school)}): {clean(u.reason)}"


def came_in(case: Case, clock: Clock) -> str:
    """The report's `sent` in the school's zone (flagged when the relay's day disagrees)."""
    if not case.came_in:
        return clock.relay_day(case.opened)
    return clock.came_in(case.came_in, case.opened, case.school)


def last_activity(case: Case, clock: Clock) -> str:
    """When the newest message was written, in the school's zone."""
    latest = case.latest
    return clock.moment(latest.payload.header.sent, case.school) if latest else ""


def inbox_summary(inbox: Inbox, clock: Clock) -> list[str]:
    if not inbox.cases:
        return ["No cases in the inbox." if not inbox.unreadable else "No readable cases."]
    zones = clock.zones_line([c.school for c in inbox.cases])
    return [zones, *(case_line(c, clock) for c in inbox.cases)]


def thread(case: Case, colleagues: Colleagues, clock: Clock) -> str:
    lines = [
        f"Case      {case.ref}",
        f"School    {clean(colleagues.school_name(case.school))}",
        f"Times     in {clock.zone_name(case.school)}",
        f"Came in   {came_in(case, clock)} (last activity {last_activity(case, clock)})",
        f"Status    {case.status}" + (f" ({FORK}: every note is shown)" if case.chain.fork else ""),
    ]
    if not case.provable:
        lines.append(f"Origin    {payloads.NOT_PROVABLE}")
    report = case.report
    if report is not None:
        lines.append(f"Safety    The student {SAFE_NOW[report.answers.safe_now]}.")
    lines += [f"Warning   {clean(w)}" for w in case.chain.warnings]
    lines += [f"Refused   message {clean(u.id)}: {clean(u.reason)}" for u in case.refused]
    for entry in in_time_order(case):
        when = clock.moment(entry.payload.header.sent, case.school)
        lines += ["", *message(entry, colleagues, when)]
    return "\n".join(lines)


def in_time_order(case: Case) -> list[Entry]:
    """Messages and staff notes by when they were written; in the same minute, the relay's order."""
    return sorted(case.entries + case.notes, key=lambda e: (e.payload.header.sent, *relay_order(e)))


def message(entry: Entry, colleagues: Colleagues, when: str) -> list[str]:
    p = entry.payload
    title = KIND_TITLES.get(p.header.kind, p.header.kind)
    if isinstance(p, payloads.Reply | payloads.Receipt | payloads.Note):
        title += " " + clean(colleagues.person(p.signer.id))
    head = f"--- {title}, {when}"
    out = [head + f" (message {clean(entry.stored.id)})"]
    out += [f"    ! {clean(w)}" for w in entry.warnings]
    if isinstance(p, payloads.Report):
        out += [
            f"Language: {p.lang}",
            "What is happening:",
            _indent(p.answers.what),
            "Anything else:",
            _indent(p.answers.more or "(nothing)"),
        ]
    elif isinstance(p, payloads.Update | payloads.Reply):
        out.append(_indent(p.text))
    elif isinstance(p, payloads.Note):
        out.append(f"Status: {p.status}" + (f", {p.disposition}" if p.disposition else ""))
        if p.text:
            out.append(_indent(p.text))
    return out


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in clean(text, lines=True).split("\n")) or "    (empty)"


# --- JSON ---------------------------------------------------------------------


def case_json(case: Case, *, with_messages: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": case.ref,
        "school": case.school,
        "case_id": b64u_encode(case.case_id),
        "opened": case.opened,
        "came_in": case.came_in,
        "last_activity": case.last_activity,
        "safe_now": case.safe_now,
        "flags": [FLAGS[case.safe_now]] if case.safe_now in FLAGS else [],
        "provable": case.provable,
        "origin": "" if case.provable else payloads.NOT_PROVABLE,
        "fork": case.chain.fork,
        "note_warnings": list(case.chain.warnings),
        "refused": [unreadable_json(u) for u in case.refused],
        "read_by_staff": case.read_by_staff,
        "attention": case.attention,
        "status": case.status,
        "messages": len(case.entries),
    }
    if with_messages:
        doc["messages"] = [entry_json(e) for e in case.entries]
        doc["notes"] = [entry_json(e) for e in case.notes]
    return doc


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.stored.id,
        "received": entry.stored.received,
        "author": entry.stored.author,
        "warnings": list(entry.warnings),
        "payload": payloads.to_json(entry.payload),
    }


def unreadable_json(u: Unreadable) -> dict[str, str]:
    return {"id": u.id, "school": u.school, "reason": u.reason}
