"""How every command ends when its reader goes away or a person presses Ctrl-C: one line.

`quietdoor-build | head -1` closes standard output early; a traceback there (or
Python's "Exception ignored" at exit) reads as a crash. Each command's console
script runs its main through run().
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

STOPPED = 130  # as a shell reports a command stopped by Ctrl-C (128 + SIGINT)


def run(prog: str, main: Callable[[list[str] | None], int]) -> int:
    """main's exit code; a closed standard output ends quietly, Ctrl-C with "PROG: stopped"."""
    try:
        try:
            return main(None)
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe cannot be caught
    except BrokenPipeError:
        # Whatever else is written until exit goes nowhere, as with other tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: stopped", file=sys.stderr)
        return STOPPED
