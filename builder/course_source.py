"""Write the course source of one deployment: content/training with its state's rules in it.

A page shows the rules with a line of its own, ``<!-- qd:state reporting -->``; this
module replaces each such line with the Markdown that the block's template
(``content/training/states/templates/reporting.md.j2``) makes from the state's data
file. mkdocs then builds plain ``mkdocs.yml`` + Markdown, which Zensical can also
build, and nothing is ever written into ``content/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import jinja2

from builder.course import STATE_BLOCK, CourseError
from builder.state_rules import STATE_RULES_DIR, StateRules

TEMPLATES = STATE_RULES_DIR / "templates"


def write_course_source(
    source: Path, target: Path, rules: StateRules, *, templates: Path = TEMPLATES
) -> None:
    """Copy the course source to target (replacing it), with every state block rendered."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=_skip_state_data(source))
    env = jinja2.Environment(  # noqa: S701 - renders Markdown from our own data files, not HTML
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    for page in sorted((target / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if STATE_BLOCK.search(text):
            original = source / page.relative_to(target)
            page.write_text(render_state_blocks(text, rules, env, original), encoding="utf-8")


def render_state_blocks(text: str, rules: StateRules, env: jinja2.Environment, where: Path) -> str:
    def block(match: re.Match[str]) -> str:
        name = match["name"]
        try:
            template = env.get_template(f"{name}.md.j2")
        except jinja2.TemplateNotFound:
            raise CourseError(
                f"{where}: no state block {name!r} (no {TEMPLATES.name}/{name}.md.j2)"
            ) from None
        return template.render(rules=rules).strip("\n")

    return STATE_BLOCK.sub(block, text)


def _skip_state_data(source: Path) -> Callable[[str, list[str]], list[str]]:
    """The state rules folder is data for this module, not a page of the course."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [STATE_RULES_DIR.name] if Path(folder) == source else []

    return ignore
