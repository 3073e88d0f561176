"""Progress of a long build, for a person at a terminal or a log file."""

from __future__ import annotations

import sys
import time


class ProgressPrinter:
    """Report progress to stderr: one line rewritten in place on a terminal, twice a second;
    a new line every 10 seconds in a log file. Always at the end."""

    def __init__(self) -> None:
        self.last = 0.0
        self.terminal = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self.last >= (0.5 if self.terminal else 10.0):
            self.last = now
            text = f"schools: {done}/{total}"
            if self.terminal:
                print("\r" + text, end="\n" if done == total else "", file=sys.stderr, flush=True)
            else:
                print(text, file=sys.stderr, flush=True)
