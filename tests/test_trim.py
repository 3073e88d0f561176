"""builder.trim: our scripts and stylesheet lose their comments, and nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from builder.assets import SITE_DIR
from builder.trim import TrimError, trimmed

OURS = sorted([*(SITE_DIR / "js").glob("*.js"), *(SITE_DIR / "css").glob("*.css")])


def trim(name: str, text: str) -> str:
    return trimmed(Path(name), text.encode()).decode()


@pytest.mark.parametrize("path", OURS, ids=lambda p: p.name)
def test_only_whole_comment_lines_and_blank_lines_go(path: Path) -> None:
    """What is published is the source's own lines, in order: a subsequence, none changed
    (the stylesheet's comments are never on a line with code)."""
    source = path.read_text(encoding="utf-8").splitlines()
    published = trimmed(path, path.read_bytes()).decode().splitlines()
    lines = iter(source)
    assert all(any(line == other for other in lines) for line in published)
    assert len(published) < len(source)
    assert not [line for line in published if not line.strip()]


@pytest.mark.parametrize("path", [p for p in OURS if p.suffix == ".js"], ids=lambda p: p.name)
def test_published_scripts_still_parse(path: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed to check the scripts"
    copy = tmp_path / path.name
    copy.write_bytes(trimmed(path, path.read_bytes()))
    subprocess.run([node, "--check", str(copy)], check=True, capture_output=True)


SCRIPT = """/* The header,
 * over lines. */
(function () {
  // a line comment
  var a = 1; // stays: after code

  /* one line */
  return a / 2;
})();
"""


def test_a_script_loses_its_comment_lines() -> None:
    assert trim("x.js", SCRIPT) == (
        "(function () {\n  var a = 1; // stays: after code\n  return a / 2;\n})();\n"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("var s = `a\n// b\n`;\n", "line 1: a template literal"),
        ("var s = 'a\\\n// b';\n", "line 1: a line continued with a backslash"),
        ("var a = 1; /* opens\n var b = 2; */\n", "line 1: a comment after code"),
        ("/* a */ var a = 1;\n", "line 1: code after a comment on one line"),
        ("/* a\n * b */ var a = 1;\n", "line 2: code after a comment on one line"),
        ("var a = 1;\n/* never\n * closed\n", "line 2: a comment that never ends"),
    ],
)
def test_a_script_it_cannot_trim_safely_is_an_error_naming_the_line(
    text: str, problem: str
) -> None:
    with pytest.raises(TrimError, match=f"^x.js, {problem}"):
        trim("x.js", text)


def test_a_stylesheet_keeps_its_strings() -> None:
    css = (
        '/* a\n   comment */\np::before { content: "/* kept */"; }\n\n'
        "q { quotes: '/*' \"*/\"; } /* b */\n"
    )
    assert trim("x.css", css) == (
        'p::before { content: "/* kept */"; }\nq { quotes: \'/*\' "*/"; }\n'
    )


def test_other_files_are_published_as_they_are() -> None:
    svg = b"<svg><!-- a comment --></svg>\n\n"
    assert trimmed(Path("icon.svg"), svg) == svg
