"""The course script's words (content/training/docs/assets/training-text.js), as Python reads
them: the tests check them and look for them on the pages."""

from __future__ import annotations

import json
import re

from .paths import ROOT

TEXT_JS = ROOT / "content" / "training" / "docs" / "assets" / "training-text.js"
PREFIX = "window.QuietDoorTrainingText = "


def course_text() -> dict[str, dict[str, str]]:
    """Every language's words, by key (the file is JSON after its first statement's name)."""
    source = TEXT_JS.read_text(encoding="utf-8")
    start = source.index(PREFIX) + len(PREFIX)
    loaded: dict[str, dict[str, str]] = json.loads(source[start:].rstrip().removesuffix(";"))
    return loaded


def said(language: str, key: str, **values: object) -> str:
    """A sentence as the page shows it, {names} filled in as training.js fills them."""
    words = course_text()[language][key]
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]) if m[1] in values else m[0], words)
