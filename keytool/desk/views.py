"""The inbox and a case as the desk's pages show them: plain words, dates in the school's zone.

Everything a student or a relay wrote passes through `present.clean` (control
characters and bidirectional overrides made visible) before Jinja2 escapes it
for HTML, so a crafted report can neither run code nor reorder what the lead
reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keytool.cases import Case, Entry, Inbox
from keytool.directory import Colleagues
from keytool.present import came_in, clean, last_activity
from quietdoor import payloads
from quietdoor.clock import Clock
from quietdoor.languages import english_name

STATUS_LABELS = {
    "new": "New",
    "in_progress": "In progress",
    "referred": "Referred",
    "closed": "Closed",
}
DISPOSITION_LABELS = {
    "": "No outcome yet",
    "cps": "Referred to child protective services",
    "police": "Referred to police",
    "school": "Handled by the school",
    "no_action": "No action needed",
    "junk": "False or junk",
}
SAFETY = {
    "no": ("Not safe now", "urgent"),
    "unsure": ("Not sure", "unsure"),
    "yes": ("Says they are safe", "calm"),
    "": ("Did not say", "calm"),
}
SAFE_ANSWERS = {"yes": "Yes", "no": "No: not safe now", "unsure": "Not sure", "": "(no answer)"}


@dataclass(frozen=True)
class Row:
    """One case in the inbox."""

    ref: str
    school: str
    came_in: str
    last_activity: str
    safety: str
    safety_class: str  # "urgent", "unsure" or "calm"
    first: bool  # shown at the top: not safe now or not sure, and not closed
    opened_by: str  # "" when nobody on the team has opened it
    opened_on: str
    status: str
    status_by: str
    status_on: str
    outcome: str
    new_from_student: bool
    messages: int
    origin: str = ""  # "" or NOT_PROVABLE: a case opened before version 2
    fork: bool = False  # changed by two colleagues at once


@dataclass(frozen=True)
class Item:
    """One message of the thread."""

    kind: str
    title: str
    when: str  # when it was written, in the school's zone
    lang: str = ""
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    unchecked: bool = False  # signed by a key this desk cannot check (no config)


@dataclass(frozen=True)
class NoteView:
    who: str
    when: str
    status: str
    outcome: str
    text: str
    unchecked: bool


@dataclass(frozen=True)
class CaseView:
    ref: str
    school: str
    came_in: str
    last_activity: str
    safety: str
    safety_class: str
    status: str
    status_code: str
    outcome_code: str
    outcome: str
    opened_by: str
    items: list[Item]
    notes: list[NoteView] = field(default_factory=list)  # newest first
    can_reply: bool = True
    origin: str = ""  # "" or NOT_PROVABLE: a case opened before version 2
    fork: bool = False  # changed by two colleagues at once: every note is shown
    warnings: tuple[str, ...] = ()  # about the notes' order
    refused: tuple[tuple[str, str], ...] = ()  # (message id, why) for this case's refused ones


def inbox_rows(inbox: Inbox, colleagues: Colleagues, clock: Clock, school: str = "") -> list[Row]:
    """Cases to triage: first "not safe now", then "not sure" (each until closed), then the
    rest; newest activity first within each."""
    rows = [_row(c, colleagues, clock) for c in inbox.cases if not school or c.school == school]
    urgent = [r for r in rows if r.first and r.safety_class == "urgent"]
    unsure = [r for r in rows if r.first and r.safety_class == "unsure"]
    return urgent + unsure + [r for r in rows if not r.first]


def _row(case: Case, colleagues: Colleagues, clock: Clock) -> Row:
    safety, safety_class = SAFETY[case.safe_now]
    receipt = next((e for e in case.entries if e.kind == "receipt" and e.trusted), None)
    note = _latest_note(case)
    return Row(
        ref=case.ref,
        school=clean(colleagues.school_name(case.school)),
        came_in=came_in(case, clock),
        last_activity=last_activity(case, clock),
        safety=safety,
        safety_class=safety_class,
        first=safety_class != "calm" and case.status != "closed",
        opened_by=_who(receipt, colleagues) if receipt else "",
        opened_on=clock.moment(receipt.payload.header.sent, case.school) if receipt else "",
        status=STATUS_LABELS[case.status],
        status_by=_who(note, colleagues) if note else "",
        status_on=clock.moment(note.payload.header.sent, case.school) if note else "",
        outcome=DISPOSITION_LABELS[_outcome(note)] if note and _outcome(note) else "",
        new_from_student=case.attention == "new message",
        messages=sum(1 for e in case.entries if e.kind != "receipt"),
        origin="" if case.provable else payloads.NOT_PROVABLE,
        fork=case.chain.fork,
    )


def case_view(case: Case, colleagues: Colleagues, clock: Clock) -> CaseView:
    safety, safety_class = SAFETY[case.safe_now]
    receipt = next((e for e in case.entries if e.kind == "receipt" and e.trusted), None)
    latest = _latest_note(case)
    notes = [
        NoteView(
            who=_who(n, colleagues),
            when=clock.moment(n.payload.header.sent, case.school),
            status=STATUS_LABELS[n.payload.status],
            outcome=DISPOSITION_LABELS[n.payload.disposition] if n.payload.disposition else "",
            text=clean(n.payload.text, lines=True),
            unchecked=not n.trusted,
        )
        for n in reversed(case.notes)
        if isinstance(n.payload, payloads.Note)
    ]
    return CaseView(
        ref=case.ref,
        school=clean(colleagues.school_name(case.school)),
        came_in=came_in(case, clock),
        last_activity=last_activity(case, clock),
        safety=safety,
        safety_class=safety_class,
        status=STATUS_LABELS[case.status],
        status_code=case.status,
        outcome_code=_outcome(latest) if latest else "",
        outcome=DISPOSITION_LABELS[_outcome(latest)] if latest and _outcome(latest) else "",
        opened_by=(
            f"{_who(receipt, colleagues)}, {clock.moment(receipt.payload.header.sent, case.school)}"
            if receipt
            else ""
        ),
        items=[_item(e, case.school, colleagues, clock) for e in case.entries],
        notes=notes,
        can_reply=case.report is not None and colleagues.deployment is not None,
        origin="" if case.provable else payloads.NOT_PROVABLE,
        fork=case.chain.fork,
        warnings=tuple(clean(w) for w in case.chain.warnings),
        refused=tuple((clean(u.id), clean(u.reason)) for u in case.refused),
    )


def _item(entry: Entry, school: str, colleagues: Colleagues, clock: Clock) -> Item:
    p = entry.payload
    title, lang, text = "", "", ""
    fields: tuple[tuple[str, str], ...] = ()
    if isinstance(p, payloads.Report):
        title, lang = "Report from the student", english_name(p.lang)
        fields = (
            ("What is happening", clean(p.answers.what, lines=True)),
            ("Are you safe right now?", SAFE_ANSWERS[p.answers.safe_now]),
            ("Anything else", clean(p.answers.more, lines=True) or "(nothing)"),
        )
    elif isinstance(p, payloads.Update):
        title, lang = "The student added", english_name(p.lang)
        text = clean(p.text, lines=True)
    elif isinstance(p, payloads.Reply):
        title, text = f"Reply from {_who(entry, colleagues)}", clean(p.text, lines=True)
    else:
        title = f"Opened by {_who(entry, colleagues)}"
    return Item(
        kind=p.header.kind,
        title=title,
        when=clock.moment(p.header.sent, school),
        lang=lang,
        text=text,
        fields=fields,
        warnings=tuple(clean(w) for w in entry.warnings),
        unchecked=not entry.trusted,
    )


def _latest_note(case: Case) -> Entry | None:
    return case.status_note


def _outcome(entry: Entry) -> str:
    return entry.payload.disposition if isinstance(entry.payload, payloads.Note) else ""


def _who(entry: Entry, colleagues: Colleagues) -> str:
    p = entry.payload
    if isinstance(p, payloads.Reply | payloads.Receipt | payloads.Note):
        return clean(colleagues.person(p.signer.id))
    return ""
