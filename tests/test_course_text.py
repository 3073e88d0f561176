"""The course script's words: every language has every key with the same {names}, and the
script shows no sentence of its own (each comes whole from training-text.js)."""

from __future__ import annotations

import re

import pytest

from .support.course_text import course_text
from .support.paths import ROOT

ASSETS = ROOT / "content" / "training" / "docs" / "assets"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def script() -> str:
    """training.js without its comments."""
    source = (ASSETS / "training.js").read_text(encoding="utf-8")
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.DOTALL)


def test_english_and_spanish_are_there() -> None:
    assert sorted(course_text()) == ["en", "es"]


@pytest.mark.parametrize("language", ["es"])
def test_a_translation_has_every_key_with_the_same_names(language: str) -> None:
    text = course_text()
    english, translated = text["en"], text[language]
    assert sorted(translated) == sorted(english)
    for key, words in english.items():
        assert sorted(PLACEHOLDER.findall(translated[key])) == sorted(PLACEHOLDER.findall(words)), (
            key
        )
        assert translated[key].strip(), key
    same = sorted(
        k
        for k, w in english.items()
        if translated[k] == w and re.search(r"[a-z]{3}", PLACEHOLDER.sub("", w))
    )
    assert same == ["minutes"], "left in English"


def test_every_key_the_script_says_is_defined() -> None:
    code = script()
    english = course_text()["en"]
    keys = set(re.findall(r"say\(\s*'(\w+)'", code))
    # cond ? 'key_a' : 'key_b' chooses between two sentences: both must be keys (a choice
    # between two other words, such as a state code, names neither)
    ternaries = re.findall(r"\?\s*'(\w+)'\s*:\s*'(\w+)'", code)
    keys |= {k for pair in ternaries if set(pair) & set(english) for k in pair}
    assert keys - set(english) == set()
    assert set(english) - keys == set(), "defined but never said"


def test_the_script_shows_no_sentence_of_its_own() -> None:
    literals = re.findall(r"'([^'\n]*)'", script())
    words = [s for s in literals if re.search(r"[A-Z][a-z]+ [a-z]+|[a-z]+ [a-z]+\.", s)]
    assert words == []
