"""The builder's console scripts, which say what to install when its libraries are missing.

A lead's laptop installs the wheel without the builder's libraries (the `build`
extra: mkdocs, ReportLab, HarfBuzz and the rest), so there `quietdoor-build` says
so in one line instead of a traceback. Those libraries take seconds to load: they
load inside quietdoor.console's guard, so Ctrl-C meanwhile is one line too.
"""

from __future__ import annotations

import importlib
import sys

from quietdoor import console

INSTALL = "pip install 'quiet-door[build]'"


def _loading(prog: str, module: str) -> console.Main:
    """The module's main, imported when it runs; a missing library is one line and exit 2."""

    def main(argv: list[str] | None) -> int:
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            print(
                f"{prog}: the builder's library {exc.name!r} is not installed: "
                f"install them with {INSTALL} (in a checkout: ./scripts/demo)",
                file=sys.stderr,
            )
            return 2
        code: int = loaded.main(argv)
        return code

    return main


def build() -> int:
    return console.run("build", _loading("quietdoor-build", "builder.cli"))


def monitor() -> int:
    return console.run("monitor", _loading("quietdoor-monitor", "builder.monitor"))
