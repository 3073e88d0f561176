"""The README and docs/ keep up with the code and with each other.

The README stays short and links every document; every config key, every flag
of build.py, the monitor, the relay and the demo, and every relay endpoint and
metric is in its reference page; every relative link and anchor leads somewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from builder import cli as build
from builder import monitor
from demo import cli as demo_cli
from keytool.cli import build_parser
from quietdoor.config import (
    DISTRICT_KEYS,
    NOTIFY_KEYS,
    PLACEMENT_COLUMNS,
    PLACEMENT_KEYS,
    PREVIOUS_KEYS,
    RECIPIENT_KEYS,
    RELAY_KEYS,
    SCHOOL_COLUMNS,
    SCHOOL_KEYS,
    TOP_KEYS,
    TRAINING_KEYS,
)
from quietdoor.config.keys import (
    CHANNEL_KEYS,
    ESCALATION_KEYS,
    LADDER_KEYS,
    ROTA_KEYS,
    SHIFT_KEYS,
    TIER_KEYS,
)
from relay import cli as relay_cli
from relay.metrics import Metrics
from relay.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+).+?\1")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(markdown: str) -> Iterator[str]:
    """The lines outside fenced code blocks, with inline code spans removed."""
    fence = ""
    for line in markdown.splitlines():
        opening = FENCE.match(line)
        if fence:
            if opening and line.strip() == opening.group(1) and opening.group(1)[0] == fence[0]:
                if len(opening.group(1)) >= len(fence):
                    fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        yield line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    words = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", words).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(text(path)):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def broken_links(path: Path) -> list[str]:
    """Every relative link of a Markdown file whose file or heading does not exist."""
    broken = []
    for line in prose(text(path)):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{target}: no such heading in {linked.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "OTHER.md").write_text("# Other\n\n## A `code` heading, too\n")
    page = tmp_path / "PAGE.md"
    page.write_text(
        "# Page\n\n[ok](OTHER.md#a-code-heading-too) [here](#page) `[code](NOPE.md)`\n"
        "[gone](GONE.md) [wrong](OTHER.md#nowhere) [self](#nowhere-here)\n"
        "```md\n[in a fence](FENCED.md)\n```\n"
    )
    assert broken_links(page) == [
        "GONE.md: no such file",
        "OTHER.md#nowhere: no such heading in OTHER.md",
        "#nowhere-here: no such heading in PAGE.md",
    ]


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    readme = text(README)
    assert len(readme.encode()) < 10_000
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in first_block.splitlines()] == [
        "./scripts/demo",
        "./scripts/test",
    ]
    assert text(ROOT / ".ci" / "run").rstrip().endswith("\n./scripts/test")


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_the_readme_links_every_document(doc: Path) -> None:
    assert f"](docs/{doc.name})" in text(README)


CHECKOUT_COMMAND = re.compile(r"\bpython3? (?:-m (?:builder|keytool|relay)\b|build\.py\b)")
SHELL_FENCES = {"", "sh", "bash", "shell", "console"}
CHECKOUT_ASIDE = "in a checkout"


def shell_lines(markdown: str) -> Iterator[str]:
    """The lines of fenced blocks a person types into a shell (sh, bash, console or unmarked)."""
    fence, shell = "", False
    for line in markdown.splitlines():
        opening = FENCE.match(line)
        if fence:
            if opening and line.strip() == opening.group(1) and len(opening.group(1)) >= len(fence):
                fence = ""
            elif shell:
                yield line
            continue
        if opening:
            fence = opening.group(1)
            shell = line[len(fence) :].strip() in SHELL_FENCES


def checkout_commands(markdown: str) -> list[str]:
    """Commands that work only in a checkout's venv (`python -m keytool`, `python build.py`).

    A shell block may carry one only on a line marked `# in a checkout`; in the text
    a code span holding one must be followed by the words "in a checkout".
    """
    found = [
        line.strip()
        for line in shell_lines(markdown)
        if CHECKOUT_COMMAND.search(line) and f"# {CHECKOUT_ASIDE}" not in line
    ]
    words = " ".join(" ".join(prose(markdown)).split())
    for span in CODE_SPAN.finditer(words):
        after = words[span.end() :].lstrip()
        if CHECKOUT_COMMAND.search(span.group(0)) and not after.startswith(CHECKOUT_ASIDE):
            found.append(span.group(0))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_commands_are_the_console_scripts_outside_checkout_asides(page: Path) -> None:
    assert checkout_commands(text(page)) == []


def test_a_checkout_only_command_is_found() -> None:
    page = (
        "Run `quietdoor-build` (`python build.py` in a\ncheckout), or `python -m keytool init`.\n"
        "```sh\npython -m builder.monitor --quiet\n"
        "python -m relay --new-epoch  # in a checkout\nquietdoor-keytool list\n```\n"
        '```json\n{"run": "python -m keytool"}\n```\n'
        "```\npython3 build.py --config x.toml\n```\n"
    )
    assert checkout_commands(page) == [
        "python -m builder.monitor --quiet",
        "python3 build.py --config x.toml",
        "`python -m keytool init`",
    ]


def config_rows() -> list[tuple[str, str]]:
    """(first cell, whole row) of every table row in docs/CONFIG.md."""
    rows = []
    for line in prose(text(DOCS / "CONFIG.md")):
        if line.startswith("| ") and not line.startswith("| ---"):
            rows.append((line.split(" | ")[0][2:], line))
    return rows


def documented(where: str, key: str) -> bool:
    """Whether docs/CONFIG.md has a row for the key: its table's row, or its own."""
    rows = config_rows()
    if where == "top":
        own = (f"`{key}`", f"`[{key}]`", f"`[[{key}]]`")
        return any(first == own[0] or first.startswith(own[1:]) for first, _ in rows)
    if where in ("schools_csv", "placements_csv", "previous"):
        return any(f"`{where}`" in first and f"{key}" in row for first, row in rows)
    return any(first.startswith(f"`{where}`") and f"`{key}`" in first for first, _ in rows)


CONFIG_KEYS = [
    *(("top", k) for k in TOP_KEYS),
    *(("[relay]", k) for k in RELAY_KEYS),
    *(("[training]", k) for k in TRAINING_KEYS),
    *(("[notify]", k) for k in NOTIFY_KEYS),
    *(("[[districts]]", k) for k in DISTRICT_KEYS),
    *(("[[schools]]", k) for k in SCHOOL_KEYS),
    *(("[[recipients]]", k) for k in RECIPIENT_KEYS),
    *(("previous", k) for k in PREVIOUS_KEYS),
    *(("[[placements]]", k) for k in PLACEMENT_KEYS),
    *(("[escalation]", k) for k in ESCALATION_KEYS - {"channels", "rotas", "ladders"}),
    *(("[[escalation.channels]]", k) for k in CHANNEL_KEYS),
    *(("[[escalation.rotas]]", k) for k in ROTA_KEYS | SHIFT_KEYS),
    *(("[[escalation.ladders]]", k) for k in LADDER_KEYS),
    *(("[[escalation.ladders.tiers]]", k) for k in TIER_KEYS),
    *(("schools_csv", f"`{k}`") for k in SCHOOL_COLUMNS),
    *(("placements_csv", f"`{k}`") for k in PLACEMENT_COLUMNS),
]


@pytest.mark.parametrize(("where", "key"), sorted(CONFIG_KEYS))
def test_every_config_key_is_in_the_config_reference(where: str, key: str) -> None:
    assert documented(where, key), f"docs/CONFIG.md has no row for {where} {key}"


def test_an_undocumented_config_key_is_found() -> None:
    assert not documented("[relay]", "max_body_byte")
    assert not documented("top", "relay_urls")
    assert not documented("previous", "since")


def flags(main: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Every --option a command's --help shows."""
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    shown = re.findall(r"(?<![\w-])--[a-z][a-z-]*", capsys.readouterr().out)
    return sorted(set(shown) - {"--help"})


def section(page: str, heading: str) -> str:
    """A page's section, from its heading to the next heading of its level or above."""
    lines = text(DOCS / page).splitlines()
    start = lines.index(heading)
    level = heading.split(" ")[0]
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(rf"#{{1,{len(level)}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end])


@pytest.mark.parametrize(
    ("main", "page", "heading"),
    [
        (build.main, "BUILD.md", "## Building"),
        (monitor.main, "BUILD.md", "## The monitor"),
        (relay_cli.main, "RELAY.md", "## Running it"),
        (demo_cli.main, "DEVELOPMENT.md", "## The two commands"),
    ],
    ids=["build.py", "monitor", "relay", "demo"],
)
def test_every_flag_is_documented(
    main: Callable[[list[str]], int],
    page: str,
    heading: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = flags(main, capsys)
    assert options, "the command's help shows no option"
    doc = section(page, heading)
    assert [o for o in options if not re.search(rf"(?<![\w-]){o}(?![\w-])", doc)] == []


def test_the_key_tools_own_options_are_documented() -> None:
    """The options before the command; test_keytool_docs checks each command's own."""
    doc = text(DOCS / "KEYTOOL.md")
    options = [o for a in build_parser()._actions for o in a.option_strings if o != "--help"]
    assert "--home" in options
    assert [o for o in options if o.startswith("--") and f"`{o}`" not in doc] == []


def test_every_relay_endpoint_is_in_the_relay_reference() -> None:
    doc = text(DOCS / "RELAY.md")
    paths = openapi_document()["paths"]
    assert paths
    for path, operations in paths.items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in doc, f"{method.upper()} {path}"


def test_every_relay_metric_is_in_the_relay_reference() -> None:
    doc = text(DOCS / "RELAY.md")
    names = [m.name for m in Metrics().registry.collect() if m.name.startswith("quietdoor_")]
    assert names
    assert [n for n in names if f"`{n}`" not in doc] == []
