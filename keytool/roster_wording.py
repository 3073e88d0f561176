"""Whether a record's attestation is the wording the course publishes.

A record is sealed by the staff member's browser, and anyone can seal one to a school, so
its attestation text is only a claim. When the record names the wording the course
publishes now (``FL.2``: the state file's code and version), its text must be that
wording in the record's language with ``{date}`` replaced by the day signed, exactly as
the course page writes it. Older wordings are not kept anywhere the roster can read, so
a record that names one is shown as not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DATE_SLOT = "{date}"
ENGLISH = "en"


@dataclass(frozen=True)
class PublishedWording:
    """The attestation a course in one language publishes: its name ("FL.2") and text."""

    wording: str  # "" when the course names no state rules
    text: str  # with "{date}" where the day goes; "" when the course publishes none
    problem: str = ""  # why the course file of that language could not be read, in words


@dataclass(frozen=True)
class WordingCheck:
    """The outcome, in words ("" when the text is the published one), and whether the
    attestation may stand as the state's acknowledgment."""

    note: str
    counts: bool


MATCHES = WordingCheck("", counts=True)
NOT_CHECKED = WordingCheck("not checked: no published wording given", counts=False)
NO_WORDING = WordingCheck("no wording named", counts=True)


def check_wording(
    text: str, on: str, wording: str, language: str, published: Mapping[str, PublishedWording]
) -> WordingCheck:
    """Check one record's attestation (its raw text, day, wording and language) against the
    course of its language (`published`, by language; a record without one is English).

    An older wording or none at all (records before protocol 2.3) still counts: it was the
    course's text when the person signed, and the statute asks for an acknowledgment, not
    for our latest words. A text that differs from the wording it names, a wording newer
    than the course's, another state's, or one that could not be checked does not count.
    """
    if not wording:
        return NO_WORDING
    language = language or ENGLISH
    course = published.get(language)
    if course is None or course.problem or not (course.text and course.wording):
        why = course.problem if course and course.problem else "the course publishes none"
        return WordingCheck(f"{wording}: not checked ({language} wording: {why})", False)
    code, _, version = wording.partition(".")
    published_code, _, published_version = course.wording.partition(".")
    if code != published_code:
        return WordingCheck(f"{wording}: not the course's state rules ({course.wording})", False)
    if int(version) < int(published_version or 0):
        return WordingCheck(f"{wording}: an older wording, not checked", True)
    if int(version) > int(published_version or 0):
        return WordingCheck(f"{wording}: newer than the published {course.wording}", False)
    if text != course.text.replace(DATE_SLOT, on, 1):  # as the page fills it in
        return WordingCheck(f"differs from the published {course.wording} wording", False)
    return MATCHES
