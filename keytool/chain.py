"""A case's staff notes in the order their authors wrote them, not the relay's.

From version 2 each note names the note it follows (`prev`), so a relay that swaps
two notes cannot turn "reopened" into "closed". The status comes from the chain's
head; two heads mean two colleagues changed the case at once (both are shown, the
later `sent`, then `msg_id`, sets the status). Version-1 notes have no `prev`: they
come first, in the relay's order (docs/PROTOCOL.md, "Staff notes").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from quietdoor.payloads import Note

if TYPE_CHECKING:  # keytool.cases imports this module
    from keytool.cases import Entry

REORDERED = "the relay's order of notes differs from their chain"
MISSING = "a note it follows is missing"


@dataclass(frozen=True)
class Chain:
    notes: list[Entry]  # oldest first: version-1 notes, the chain, then notes nobody can check
    head: Entry | None  # the note the status comes from
    fork: bool  # more than one head: changed by two colleagues at once
    warnings: tuple[str, ...]


def order_notes(entries: Sequence[Entry]) -> Chain:
    """entries: a case's notes in the relay's order."""
    trusted = [e for e in entries if e.trusted and isinstance(e.payload, Note)]
    old = [e for e in trusted if _note(e).prev is None]
    chained = [e for e in trusted if _note(e).prev is not None]
    by_id = {_note(e).header.msg_id: e for e in chained}
    known = set(by_id) | {_note(e).header.msg_id for e in old}
    warnings: list[str] = []
    roots: list[Entry] = []
    children: dict[bytes, list[Entry]] = {}
    for e in chained:
        prev = _prev(e)
        if prev in by_id:
            children.setdefault(prev, []).append(e)
        else:
            roots.append(e)
            if prev and prev not in known and MISSING not in warnings:
                warnings.append(MISSING)
    position = {id(e): i for i, e in enumerate(entries)}
    if any(position[id(by_id[_prev(e)])] > position[id(e)] for e in chained if _prev(e) in by_id):
        warnings.append(REORDERED)
    ordered = _walk(roots, children)
    ordered += [e for e in chained if e not in ordered]  # a cycle: shown in the relay's order
    named = {_note(e).prev for e in chained}
    heads = [e for e in chained if _note(e).header.msg_id not in named]
    latest = max(heads, key=_when) if heads else (old[-1] if old else None)
    unchecked = [e for e in entries if e not in trusted]
    return Chain(old + ordered + unchecked, latest, len(heads) > 1, tuple(warnings))


def _note(entry: Entry) -> Note:
    return cast(Note, entry.payload)  # only notes are chained (order_notes filters)


def _when(entry: Entry) -> tuple[str, bytes]:
    return _note(entry).header.sent, _note(entry).header.msg_id


def _prev(entry: Entry) -> bytes:
    return _note(entry).prev or b""


def _walk(roots: list[Entry], children: dict[bytes, list[Entry]]) -> list[Entry]:
    """Depth first from the roots, siblings by `sent` then `msg_id`; each note once."""
    out: list[Entry] = []
    seen: set[int] = set()
    stack = sorted(roots, key=_when, reverse=True)
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        stack += sorted(children.get(_note(e).header.msg_id, []), key=_when, reverse=True)
    return out
