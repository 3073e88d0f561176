"""How every command ends when its reader goes away or a person presses Ctrl-C: one line.

`quietdoor-build | head -1` closes standard output early; a traceback there (or
Python's "Exception ignored" at exit) reads as a crash. Each command's console
script runs its main through run_lazy(), which imports the command's module inside
the same guard: the builder's libraries take seconds to load, and Ctrl-C then is
one line too.
"""

from __future__ import annotations

import importlib
import os
import select
import sys
from collections.abc import Callable

STOPPED = 130  # as a shell reports a command stopped by Ctrl-C (128 + SIGINT)

Main = Callable[[list[str] | None], int]


def run(prog: str, main: Main) -> int:
    """main's exit code; a closed standard output ends quietly, Ctrl-C with "PROG: stopped"."""
    try:
        try:
            return main(None)
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe cannot be caught
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # another pipe (a child's, a socket): a failure, not a reader gone
        # Whatever else is written until exit goes nowhere, as with other tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: stopped", file=sys.stderr)
        return STOPPED


def run_lazy(
    prog: str, target: str, missing: Callable[[ModuleNotFoundError], int] | None = None
) -> int:
    """run() for the main named "package.module:function", imported inside the guard;
    `missing` answers a library that is not installed (else it is raised)."""
    module, _, name = target.partition(":")

    def main(argv: list[str] | None) -> int:
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if missing is None:
                raise
            return missing(exc)
        found: Main = getattr(loaded, name)
        return found(argv)

    return run(prog, main)


def _stdout_closed() -> bool:
    """True when standard output is a pipe whose reader has gone."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):  # Windows cannot ask: a closed stdout is the usual cause
        return True
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    # Linux reports a pipe whose reader left as POLLERR; macOS (kqueue underneath) as
    # POLLHUP, as Linux does a socket whose peer closed. A regular file reports neither.
    gone = select.POLLERR | select.POLLHUP
    return any(events & gone for _, events in poll.poll(0))
