"""The course in Spanish: the same modules, ids and versions, the state rules in Spanish,
built beside the English course, with its review status shown to staff."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin

import pytest

from builder.course import QUIZ_BLOCK, CourseError, load_course, parse_question
from builder.course_language import (
    all_course_languages,
    course_languages,
    load_course_language,
    page_head,
    published_course_languages,
    review_notice,
    translated_course,
    write_language_source,
)
from builder.state_rules import StateRulesError, load_state_rules
from builder.training import render_training
from quietdoor.config import known_states

from .support.paths import ROOT

TRAINING = ROOT / "content" / "training"
SPANISH = TRAINING / "es" / "docs"
STATES = known_states()


def front_matter(path: Path) -> dict[str, str]:
    head = path.read_text(encoding="utf-8").split("---\n")[1]
    return {
        k.strip(): v.strip().strip("\"'")
        for k, _, v in (line.partition(":") for line in head.splitlines())
    }


def page_text(path: Path) -> str:
    text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return " ".join(html.unescape(text).replace("*", "").split())


def test_spanish_is_a_course_language_marked_draft() -> None:
    assert course_languages(TRAINING) == ("es",)
    language = load_course_language(TRAINING / "es")
    assert (language.code, language.review) == ("es", "draft")


def test_every_english_page_has_its_spanish_counterpart_with_the_same_id_and_version() -> None:
    english = load_course(TRAINING / "docs")
    for module in english.modules:
        name = module.path.removeprefix("modules/").rstrip("/") + ".md"
        ours = front_matter(TRAINING / "docs" / "modules" / name)
        theirs = front_matter(SPANISH / "modules" / name)
        assert (theirs["id"], theirs["version"]) == (ours["id"], ours["version"]), name
        assert theirs["title"] != ours["title"], f"{name} is not translated"
    for page in sorted((TRAINING / "docs").rglob("*.md")):
        twin = SPANISH / page.relative_to(TRAINING / "docs")
        ours = QUIZ_BLOCK.findall(page.read_text(encoding="utf-8"))
        theirs = QUIZ_BLOCK.findall(twin.read_text(encoding="utf-8"))
        assert len(theirs) == len(ours), twin
        for number, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
            en, es = parse_question(page, number, a), parse_question(twin, number, b)
            assert es.skill == en.skill and es.text != en.text, (twin, number)
            assert [o.correct for o in es.options] == [o.correct for o in en.options], (
                twin,
                number,
            )


@pytest.mark.parametrize("code", [*STATES, ""])
def test_every_state_claim_has_its_spanish_text(code: str) -> None:
    rules = load_state_rules(code)
    spanish = rules.in_language("es")
    assert [c.id for c in spanish.claims] == [c.id for c in rules.claims]
    assert [c.sources for c in spanish.claims] == [c.sources for c in rules.claims]
    for en, es in zip(rules.claims, spanish.claims, strict=True):
        assert es.text and es.text != en.text, (code, en.id)
    assert spanish.version == rules.version and len(spanish.statutes) == len(rules.statutes)


def test_a_missing_spanish_text_is_named_with_its_file_and_field() -> None:
    rules = load_state_rules("TX")
    claims = tuple(
        dataclasses.replace(c, text_es="") if c.id == "penalty" else c for c in rules.claims
    )
    with pytest.raises(StateRulesError, match=r"TX\.toml: claim 'penalty': text_es is missing"):
        dataclasses.replace(rules, claims=claims).in_language("es")


@pytest.mark.parametrize("code", [*STATES, ""])
def test_the_course_builds_in_english_and_spanish(code: str, tmp_path: Path) -> None:
    rules = load_state_rules(code)
    spanish = rules.in_language("es")
    out = tmp_path / "training"
    render_training(TRAINING, rules, out, all_course_languages(TRAINING))
    pages = sorted((out / "es").rglob("*.html"))
    assert len(pages) >= 15
    for page in pages:
        assert '<html lang="es"' in page.read_text(encoding="utf-8"), page
    for page in pages_with_content(out / "es"):  # each links to its English twin, says draft
        folder = page.parent.relative_to(out / "es").as_posix()
        rel = "" if folder == "." else f"{folder}/"
        served = page.read_text(encoding="utf-8")
        assert 'hreflang="en" lang="en">English</a>' in served, page
        assert SPANISH_LANGUAGE.texts["draft_line"] in page_text(page), page
        english = links_in(out / rel / "index.html", "es")
        assert [urljoin(f"/training/{rel}", h) for h in english] == [f"/training/es/{rel}"]
        back = links_in(page, "en")
        assert [urljoin(f"/training/es/{rel}", h) for h in back] == [f"/training/{rel}"]
    assert "Traducción en borrador: aún no revisada por un hablante nativo" in page_text(
        out / "es" / "index.html"
    )
    for test in ("pretest", "final-check"):  # the bank's items, drawn by the page
        served = (out / "es" / test / "index.html").read_text(encoding="utf-8")
        assert '<div id="qd-scored"></div>' in served and "```quiz" not in served
        assert "se muestran en inglés" not in page_text(out / "es" / test / "index.html")
    front = page_text(out / "es" / "index.html")
    reporting = page_text(out / "es" / "modules" / "04-reporting-protocol" / "index.html")
    roles = page_text(out / "es" / "modules" / "10-notes-for-your-role" / "index.html")
    duties = page_text(out / "es" / "modules" / "08-legal-duties-and-records" / "index.html")
    if rules.is_general:
        assert "Las normas para denunciar cambian de un estado a otro" in front
    else:
        assert f"Las normas en {spanish.name}" in front and f"En {spanish.name}" in reporting
        for claim in spanish.claims:
            shown = claim.shown.replace("*", "")
            where = roles if claim.id.startswith("role-") else f"{front} {reporting} {duties}"
            assert shown in where, claim.id
        assert rules.claim("to_whom").text not in reporting  # type: ignore[union-attr]
        assert spanish.reporting.line in reporting
        assert all(statute in duties for statute in spanish.statutes)
        for source in rules.sources:
            assert f"{source.title} (en inglés)" in reporting


def pages_with_content(out: Path) -> list[Path]:
    """Every page of a built course but mkdocs' 404 page."""
    return [p for p in sorted(out.rglob("index.html")) if p.parent.name != "404"]


def links_in(page: Path, lang: str) -> list[str]:
    """The page head's links to its twin in lang."""
    text = page.read_text(encoding="utf-8")
    return re.findall(rf'<a href="([^"]*)" hreflang="{lang}" lang="{lang}">', text)


def test_a_draft_course_language_is_left_out_unless_drafts_are_allowed(tmp_path: Path) -> None:
    english_only = tmp_path / "english"
    render_training(TRAINING, load_state_rules(""), english_only, ())
    assert not (english_only / "es").exists()
    for page in pages_with_content(english_only):
        text = page.read_text(encoding="utf-8")
        assert "Español" not in text and 'hreflang="es"' not in text, page
    assert published_course_languages(TRAINING, allow_drafts=False) == ()
    assert [lang.code for lang in published_course_languages(TRAINING, allow_drafts=True)] == ["es"]


def test_a_reviewed_translation_is_published_without_drafts_and_names_its_reviewer(
    tmp_path: Path,
) -> None:
    source = spanish_copy(tmp_path)
    (source / "es" / "language.toml").write_text(
        'code = "es"\nname = "Español"\nreview = "reviewed"\nreviewer = "Ana Ruiz"\n'
        'reviewed = "2026-12-01"\n' + REVIEW_TEXTS,
        encoding="utf-8",
    )
    [language] = published_course_languages(source, allow_drafts=False)
    head = page_head("es", (language,))
    assert "Traducción revisada por Ana Ruiz el 2026-12-01." in head
    assert SPANISH_LANGUAGE.texts["draft_line"] not in head


# The real file's [texts] table, for language.toml files a test writes.
TEXTS = (TRAINING / "es" / "language.toml").read_text(encoding="utf-8").partition("[texts]")
REVIEW_TEXTS = TEXTS[1] + TEXTS[2]
SPANISH_LANGUAGE = load_course_language(TRAINING / "es")


def spanish_copy(tmp_path: Path) -> Path:
    source = tmp_path / "training"
    shutil.copytree(TRAINING, source, ignore=shutil.ignore_patterns("states"))
    return source


def set_version(path: Path) -> None:
    path.write_text(re.sub(r"^version: .*$", "version: 99", path.read_text(), count=1, flags=re.M))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda es: (es / "modules" / "03-limits-of-observation.md").unlink(),
            "translation of modules/03-limits-of-observation.md is missing",
        ),
        (
            lambda es: set_version(es / "modules" / "05-responding-to-disclosure.md"),
            "front matter version must be '2'",
        ),
        (
            lambda es: (es / "modules" / "12-extra.md").write_text("---\nid: m12\n---\n"),
            "no English page has this name",
        ),
        (
            lambda es: (es / "modules" / "04-reporting-protocol.md").write_text(
                "---\nid: m04\n---\n"
            ),
            "ask as many questions as modules/04-reporting-protocol.md does",
        ),
        (
            lambda es: (es / "pretest.md").write_text("---\nid: pre\ntitle: Antes\n---\n"),
            'pretest.md: the page needs <div id="qd-scored"></div>',
        ),
        (
            lambda es: (es / "final-check.md").write_text(
                '---\nid: post\ntitle: Final\n---\n<div id="qd-scored"></div>\n'
                "```quiz\n? Q\n+ A\n  = Yes.\n- B\n  = No.\n```\n"
            ),
            "ask as many questions as final-check.md does",
        ),
    ],
)
@pytest.mark.parametrize("reader", ["source", "course"])
def test_a_translation_that_does_not_match_the_english_course_is_refused(
    tmp_path: Path, change: object, message: str, reader: str
) -> None:
    """Both readers of a translation refuse it by name: the source writer, and the build's
    first reader (its titles), which once met a missing page as a traceback."""
    source = spanish_copy(tmp_path)
    change(source / "es" / "docs")  # type: ignore[operator]
    rules = load_state_rules("")
    with pytest.raises(CourseError, match=re.escape(message)):
        if reader == "source":
            write_language_source(source, "es", tmp_path / "out", rules)
        else:
            translated_course(load_course(source / "docs", rules), source, rules, "es")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('code = "es"\nname = "Español"\nreview = "reviewed"\n', "names its reviewer and the date"),
        ('code = "es"\nname = "Español"\nreview = "ok"\n', "expected 'draft'"),
        ('code = "es"\nname = "Español"\nreview = "draft"\nreviewer = "A"\n', "expected 'draft'"),
        ('code = "fr"\nname = "Español"\nreview = "draft"\n', "does not match the folder"),
        ('code = "es"\nname = "Español"\nreview = "draft"\nnote = 1\n', "note: unknown key"),
        ('code = "es"\n', "name: expected text"),
        ('code = "es"\nname = "{{ config }}"\nreview = "draft"\n', "name: braces"),
        (
            'code = "es"\nname = "Español"\nreview = "reviewed"\nreviewer = "<b>A</b>"\n'
            'reviewed = "2026-12-01"\n',
            "reviewer: braces, angle brackets",
        ),
        ('code = "es"\nname = "Español"\nreview = "draft"\n', "texts: expected a table"),
        (
            'code = "es"\nname = "Español"\nreview = "draft"\n'
            + REVIEW_TEXTS.replace("{reviewer}", "{who}"),
            "texts.reviewed_line: only {reviewer} and {date}",
        ),
        (
            'code = "es"\nname = "Español"\nreview = "draft"\n'
            + REVIEW_TEXTS.replace("draft_line", "draft_lines"),
            "texts.draft_lines: unknown key",
        ),
        (
            'code = "es"\nname = "Español"\nreview = "draft"\n'
            + REVIEW_TEXTS.replace('draft_title = "', 'draft_title = "{{ config }} '),
            "texts.draft_title: braces",
        ),
    ],
)
def test_a_bad_review_status_is_named(tmp_path: Path, toml: str, message: str) -> None:
    folder = tmp_path / "es"
    folder.mkdir()
    (folder / "language.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(CourseError, match=re.escape(message)) as caught:
        load_course_language(folder)
    assert "language.toml" in str(caught.value)


def test_the_home_shows_the_review_status(tmp_path: Path) -> None:
    draft = load_course_language(TRAINING / "es")
    assert draft.texts["draft_title"] in review_notice(draft)
    assert draft.texts["draft_notice"] in review_notice(draft)
    source = spanish_copy(tmp_path)
    (source / "es" / "language.toml").write_text(
        'code = "es"\nname = "Español"\nreview = "reviewed"\nreviewer = "Ana Ruiz"\n'
        'reviewed = "2027-01-15"\n' + REVIEW_TEXTS,
        encoding="utf-8",
    )
    reviewed = load_course_language(source / "es")
    assert "Traducción revisada por Ana Ruiz el 2027-01-15" in review_notice(reviewed)
    write_language_source(source, "es", tmp_path / "out", load_state_rules(""))
    home = (tmp_path / "out" / "docs" / "index.md").read_text(encoding="utf-8")
    assert "Ana Ruiz" in home and "borrador" not in home and "qd:review" not in home
