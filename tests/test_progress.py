"""Build progress: a bar with the time left on a terminal, plain lines in a log."""

from __future__ import annotations

import io

import pytest

from builder.progress import ProgressPrinter, eta


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("elapsed", "done", "total", "expected"),
    [(10.0, 1, 3, "0:20"), (60.0, 100, 10_000, "1:39:00"), (5.0, 0, 9, None), (5.0, 9, 9, None)],
)
def test_time_left(elapsed: float, done: int, total: int, expected: str | None) -> None:
    assert eta(elapsed, done, total) == expected


def test_terminal_rewrites_one_line_with_a_bar() -> None:
    out = Terminal()
    progress = ProgressPrinter(out)
    progress(1, 4)
    progress(4, 4)
    text = out.getvalue()
    assert text.startswith("\rschools: 1/4 [#######-----------------------]  25%  about ")
    assert text.endswith("\rschools: 4/4 [##############################] 100%\033[K\n")


def test_log_gets_plain_lines() -> None:
    out = io.StringIO()
    progress = ProgressPrinter(out)
    progress(1, 4)
    progress(2, 4)  # within 10 seconds of the last line: not printed
    progress(4, 4)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("schools: 1/4, about ")
    assert lines[1:] == ["schools: 4/4"]
