"""Progress of a long build, for a person at a terminal or a log file."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class ProgressPrinter:
    """Report progress to stderr: on a terminal, one line rewritten in place twice a
    second, with a bar and the time left; in a log file, a plain line every 10 seconds.
    Always at the end."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done != total and now - self.last < (0.5 if self.terminal else 10.0):
            return
        self.last = now
        text = f"schools: {done}/{total}"
        left = eta(now - self.started, done, total)
        if self.terminal:
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            line = f"{text} [{bar}] {100 * done // max(total, 1):3d}%"
            if left is not None and done != total:
                line += f"  about {left} left"
            end = "\n" if done == total else ""
            print(f"\r{line}\033[K", end=end, file=self.stream, flush=True)
        else:
            line = text + (f", about {left} left" if left is not None and done != total else "")
            print(line, file=self.stream, flush=True)


def eta(elapsed: float, done: int, total: int) -> str | None:
    """The time left at the pace so far, as "1:05" (minutes:seconds) or "2:03:10"."""
    if done <= 0 or total <= done:
        return None
    seconds = round(elapsed / done * (total - done))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
