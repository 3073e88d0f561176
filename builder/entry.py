"""The builder's console scripts, which say what to install when its libraries are missing.

A lead's laptop installs the wheel without the builder's libraries (the `build`
extra: mkdocs, ReportLab, HarfBuzz and the rest), so there `quietdoor-build` says
so in one line instead of a traceback. Those libraries take seconds to load: they
load inside quietdoor.console's guard, so Ctrl-C meanwhile is one line too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from quietdoor import console

INSTALL = "pip install 'quiet-door[build]'"


def _not_installed(prog: str) -> Callable[[ModuleNotFoundError], int]:
    """One line and exit 2 when a library of the builder is missing."""

    def say(exc: ModuleNotFoundError) -> int:
        print(
            f"{prog}: the builder's library {exc.name!r} is not installed: "
            f"install them with {INSTALL} (in a checkout: ./scripts/demo)",
            file=sys.stderr,
        )
        return 2

    return say


def build() -> int:
    return console.run_lazy("build", "builder.cli:main", _not_installed("quietdoor-build"))


def monitor() -> int:
    return console.run_lazy("monitor", "builder.monitor:main", _not_installed("quietdoor-monitor"))
