"""The course in another language: a translated copy of the pages, built beside the English one.

``content/training/es/`` holds the Spanish pages (``docs/`` with the same file names,
module ids and versions as the English ones), its ``mkdocs.yml`` and ``language.toml``,
which says whether the translation is a ``draft`` (machine-assisted, not yet checked) or
``reviewed`` (by whom, and when). The scripts, styles and state data are the English
course's: the state blocks are rendered from the same state files, in their ``_es`` texts,
with the templates in ``states/templates/es/``. The course is published at
``training/es/``, so a completion record from either language counts the same.

A draft translation is published only when the deployment allows drafts
(``allow_draft_languages = true``), as for the student pages; the readiness report lists
it either way. Every page of a translation says, above its title, whether a native
speaker has reviewed it, and every page of each published language links to the same
page in the others.
"""

from __future__ import annotations

import html
import re
import shutil
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from builder.course import (
    POSTTEST,
    PRETEST,
    QUIZ_BLOCK,
    Course,
    CourseError,
    front_matter,
    load_course,
    parse_assessment,
    parse_question,
)
from builder.course_bank import load_bank
from builder.course_source import TEMPLATES, write_course_source
from builder.state_rules import DATE_RE, StateRules
from quietdoor.languages import LANGUAGES

LANGUAGE_FILE = "language.toml"
REVIEW_BLOCK = re.compile(r"^<!-- qd:review -->[ \t]*$", re.MULTILINE)
SHARED = ("assets",)  # what the translated pages load from the English course's docs/
OVERRIDES = "overrides"  # the theme's templates: qd-page-head.html goes in, per language
PAGE_HEAD = "qd-page-head.html"
UNSAFE_TEXT = re.compile(r"[{}<>\x00-\x1f\x7f]")  # not in a name the page head shows
ENGLISH = ("en", LANGUAGES["en"].native)  # the source, named in itself
# What language.toml's [texts] says about the review, in the translation's own language.
REVIEW_TEXTS = (
    "draft_line",  # above every page's title
    "draft_title",  # the home's notice
    "draft_notice",
    "reviewed_line",  # with {reviewer} and {date}
    "reviewed_title",
    "reviewed_notice",
)


@dataclass(frozen=True)
class CourseLanguage:
    code: str  # "es"
    name: str  # the language's name in itself (Español, for Spanish)
    review: str  # "draft" or "reviewed"
    reviewer: str = ""
    reviewed: str = ""  # the date of the review
    texts: dict[str, str] = field(default_factory=dict)  # REVIEW_TEXTS, filled in

    @property
    def line(self) -> str:
        """What every page says above its title about the review."""
        return self.texts["draft_line" if self.review == "draft" else "reviewed_line"]


def course_languages(training_source: Path) -> tuple[str, ...]:
    """The languages the course is translated into: each folder with a language.toml."""
    return tuple(
        sorted(p.parent.name for p in training_source.glob(f"*/{LANGUAGE_FILE}") if p.is_file())
    )


def published_course_languages(
    training_source: Path, allow_drafts: bool
) -> tuple[CourseLanguage, ...]:
    """The translations a deployment publishes: the reviewed ones, and drafts if allowed."""
    return tuple(
        lang
        for lang in all_course_languages(training_source)
        if allow_drafts or lang.review != "draft"
    )


def all_course_languages(training_source: Path) -> tuple[CourseLanguage, ...]:
    """Every translation of the course, with its review status."""
    return tuple(
        load_course_language(training_source / c) for c in course_languages(training_source)
    )


def load_course_language(folder: Path) -> CourseLanguage:
    path = folder / LANGUAGE_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"{path}: cannot read the file ({exc})") from None
    unknown = sorted(set(raw) - {"code", "name", "review", "reviewer", "reviewed", "texts"})
    if unknown:
        raise CourseError(f"{path}: {unknown[0]}: unknown key")
    for key in ("code", "name", "review"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CourseError(f"{path}: {key}: expected text")
    for key in ("name", "reviewer", "reviewed"):  # shown in every page's head, a template
        if UNSAFE_TEXT.search(str(raw.get(key, ""))):
            raise CourseError(f"{path}: {key}: braces, angle brackets and control characters")
    if raw["code"] != folder.name:
        raise CourseError(f"{path}: code: {raw['code']!r} does not match the folder's name")
    language = CourseLanguage(
        code=raw["code"],
        name=raw["name"],
        review=raw["review"],
        reviewer=str(raw.get("reviewer", "")),
        reviewed=str(raw.get("reviewed", "")),
    )
    if language.review == "reviewed":
        if not language.reviewer.strip() or not DATE_RE.match(language.reviewed):
            raise CourseError(
                f"{path}: review: a reviewed translation names its reviewer and the date "
                "(reviewer, reviewed = YYYY-MM-DD)"
            )
    elif language.review != "draft" or language.reviewer or language.reviewed:
        raise CourseError(
            f"{path}: review: expected 'draft' (no reviewer yet) or 'reviewed', "
            f"got {language.review!r}"
        )
    return replace(language, texts=_review_texts(path, raw.get("texts"), language))


def _review_texts(path: Path, raw: object, language: CourseLanguage) -> dict[str, str]:
    """language.toml's [texts], with the reviewer and the date filled in."""
    if not isinstance(raw, dict):
        raise CourseError(f"{path}: texts: expected a table with {', '.join(REVIEW_TEXTS)}")
    unknown = sorted(set(raw) - set(REVIEW_TEXTS))
    if unknown:
        raise CourseError(f"{path}: texts.{unknown[0]}: unknown key")
    texts = {}
    for key in REVIEW_TEXTS:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CourseError(f"{path}: texts.{key}: expected text")
        try:
            filled = value.format(reviewer=language.reviewer, date=language.reviewed)
        except (KeyError, IndexError, ValueError):
            raise CourseError(
                f"{path}: texts.{key}: only {{reviewer}} and {{date}} may be filled in"
            ) from None
        if UNSAFE_TEXT.search(filled) or (key.endswith("_title") and '"' in filled):
            # The page head is a template; a title sits in double quotes on the home.
            raise CourseError(
                f"{path}: texts.{key}: braces, angle brackets, control characters "
                "(or, in a title, double quotes)"
            )
        texts[key] = filled
    return texts


def review_notice(language: CourseLanguage) -> str:
    """What the translated home tells staff about the translation's review."""
    kind, box = ("draft", "warning") if language.review == "draft" else ("reviewed", "info")
    title, notice = language.texts[f"{kind}_title"], language.texts[f"{kind}_notice"]
    return f'!!! {box} "{title}"\n    {notice}'


def page_head(code: str, published: tuple[CourseLanguage, ...]) -> str:
    """The template shown above every page in `code`: the same page in each other
    published language, and a translation's review status."""
    if not published:
        return ""  # no other language to link to, no translation to describe
    names = (ENGLISH, *((lang.code, lang.name) for lang in published))
    links = []
    for other, name in names:
        if other == code:
            links.append(f"<strong>{html.escape(name)}</strong>")
            continue
        folder = "" if other == "en" else f"{other}/"
        up = "" if code == "en" else "../"
        links.append(
            f'<a href="{{{{ base_url }}}}/{up}{folder}{{{{ page.url }}}}" '
            f'hreflang="{other}" lang="{other}">{html.escape(name)}</a>'
        )
    head = f'<p class="qd-languages">{" · ".join(links)}</p>\n'
    language = next((lang for lang in published if lang.code == code), None)
    if language is not None:
        head += f'<p class="qd-review-note">{html.escape(language.line)}</p>\n'
    return head


def write_page_head(source: Path, code: str, published: tuple[CourseLanguage, ...]) -> None:
    """Give a rendered course source (English or a translation) its page head."""
    (source / OVERRIDES).mkdir(exist_ok=True)
    (source / OVERRIDES / PAGE_HEAD).write_text(page_head(code, published), encoding="utf-8")


def translated_course(
    course: Course, training_source: Path, rules: StateRules, code: str
) -> Course:
    """The English course as its translation shows it: the translated titles (from each
    page's front matter) and the item bank in that language, in the same order; a
    translation that does not match the English course is refused first, by name."""
    docs = training_source / code / "docs"
    check_translation(training_source / "docs", docs, rules)

    def title(path: str) -> str:
        page = docs / f"{path.rstrip('/')}.md"
        return front_matter(page, page.read_text(encoding="utf-8"), ("title",))["title"]

    modules = tuple(replace(m, title=title(m.path)) for m in course.modules)
    return Course(
        modules=modules,
        pretest=replace(course.pretest, title=title(course.pretest.path)),
        posttest=replace(course.posttest, title=title(course.posttest.path)),
        bank=load_bank(training_source, rules, tuple(m.id for m in modules), language=code),
    )


def check_translation(english_docs: Path, translated_docs: Path, rules: StateRules) -> None:
    """Every English page has its translation, with the same ids, versions and questions.

    The scored tests' pages hold no questions (their items are the bank's, in English for
    now), so their translations must only be such pages too."""
    english = load_course(english_docs, rules)
    pages = {m.path: m for m in english.modules}
    tests = {PRETEST: english.pretest.id, POSTTEST: english.posttest.id}
    for page in sorted(english_docs.rglob("*.md")):
        rel = page.relative_to(english_docs)
        twin = translated_docs / rel
        if not twin.is_file():
            raise CourseError(f"{twin}: the translation of {rel} is missing")
        text = twin.read_text(encoding="utf-8")
        blocks = QUIZ_BLOCK.findall(text)
        if len(blocks) != len(QUIZ_BLOCK.findall(page.read_text(encoding="utf-8"))):
            raise CourseError(f"{twin}: ask as many questions as {rel} does")
        for number, block in enumerate(blocks, start=1):
            parse_question(twin, number, block)
        if str(rel) in tests:
            parse_assessment(twin, tests[str(rel)])
        module = pages.get(f"modules/{rel.stem}/")
        if module is not None:
            version = module.version.partition("+")[0]
            for key, value in (("id", module.id), ("version", version)):
                if not re.search(rf"^{key}: *{re.escape(value)} *$", text, re.MULTILINE):
                    raise CourseError(f"{twin}: front matter {key} must be {value!r}, as in {rel}")
    extra = sorted(
        str(p.relative_to(translated_docs))
        for p in translated_docs.rglob("*.md")
        if not (english_docs / p.relative_to(translated_docs)).is_file()
    )
    if extra:
        raise CourseError(f"{translated_docs / extra[0]}: no English page has this name")


def write_language_source(
    training_source: Path,
    code: str,
    target: Path,
    rules: StateRules,
    published: tuple[CourseLanguage, ...] = (),
) -> None:
    """The source of the course in one language, checked, with its state blocks rendered;
    `published` are the translations the deployment publishes (for the language links)."""
    folder = training_source / code
    language = load_course_language(folder)
    check_translation(training_source / "docs", folder / "docs", rules)
    write_course_source(folder, target, rules.in_language(code), templates=TEMPLATES / code)
    for name in SHARED:
        shutil.copytree(training_source / "docs" / name, target / "docs" / name)
    shutil.copytree(training_source / OVERRIDES, target / OVERRIDES)
    write_page_head(target, code, published or (language,))
    home = target / "docs" / "index.md"
    text = home.read_text(encoding="utf-8")
    if not REVIEW_BLOCK.search(text):
        raise CourseError(f"{folder / 'docs' / 'index.md'}: the home needs a qd:review line")
    notice = review_notice(language)
    home.write_text(REVIEW_BLOCK.sub(lambda _: notice, text), encoding="utf-8")
