"""Our scripts and stylesheet as the student pages get them: without comments or blank lines.

Their comments are for the people who read ``site/``; on one bar of signal they
were a fifth of what the landing page and the crypto carry as gzip (figures in
bench/README.md). Only whole comment lines go, by rules that cannot touch code:

- a script must have no template literal (a backtick) and no line continued with
  a backslash, so that no string spans two lines; then a line that starts with
  ``//`` is a comment, and so is a run of lines from one that starts with ``/*``
  to one that ends with ``*/`` (``/*`` cannot start a regular expression);
  a comment after code on a line stays;
- a stylesheet has no regular expressions: every ``/* … */`` outside a quoted
  string goes.

Whatever breaks a rule is an error that names the file and the line. The vendored
libraries are published as they are (builder.assets).
"""

from __future__ import annotations

import re
from pathlib import Path

from builder.errors import BuildError

# A quoted string (kept) or a comment (dropped), in a stylesheet.
_CSS_TOKEN = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|/\*.*?\*/""", re.DOTALL)


class TrimError(BuildError):
    """A script or stylesheet whose comments cannot be taken out safely."""


def trimmed(path: Path, data: bytes) -> bytes:
    """The bytes of a file of ours as published: a ``.js`` or ``.css`` file without its
    comments and blank lines, anything else as it is."""
    if path.suffix not in (".js", ".css"):
        return data
    text = data.decode("utf-8")
    lines = _script_lines(path, text) if path.suffix == ".js" else _style_lines(text)
    return "".join(line + "\n" for line in lines if line.strip()).encode("utf-8")


def _script_lines(path: Path, text: str) -> list[str]:
    kept: list[str] = []
    comment_from = 0  # the line where an open /* comment started, or 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if comment_from or stripped.startswith("/*"):
            end = stripped.find("*/", 0 if comment_from else 2)
            if end == -1:
                comment_from = comment_from or number
            elif end != len(stripped) - 2:
                raise TrimError(f"{path}, line {number}: code after a comment on one line")
            else:
                comment_from = 0
            continue
        if stripped.startswith("//"):
            continue
        for sign, problem in (("`", "a template literal"), ("/*", "a comment after code")):
            if sign in line:
                raise TrimError(
                    f"{path}, line {number}: {problem} ({sign!r}); write it another way"
                )
        if line.rstrip().endswith("\\"):
            raise TrimError(f"{path}, line {number}: a line continued with a backslash")
        kept.append(line)
    if comment_from:
        raise TrimError(f"{path}, line {comment_from}: a comment that never ends")
    return kept


def _style_lines(text: str) -> list[str]:
    without = _CSS_TOKEN.sub(lambda m: m[0] if m[0][0] in "\"'" else "", text)
    return [line.rstrip() for line in without.splitlines()]
