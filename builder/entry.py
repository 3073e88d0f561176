"""The builder's console scripts, which say what to install when its libraries are missing.

A lead's laptop installs the wheel without the builder's libraries (the `build`
extra: mkdocs, ReportLab, HarfBuzz and the rest), so there `quietdoor-build` says
so in one line instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys

INSTALL = "pip install 'quiet-door[build]'"


def _run(prog: str, module: str) -> int:
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        print(
            f"{prog}: the builder's library {exc.name!r} is not installed: "
            f"install them with {INSTALL} (in a checkout: ./scripts/demo)",
            file=sys.stderr,
        )
        return 2
    code: int = loaded.cli()
    return code


def build() -> int:
    return _run("quietdoor-build", "builder.cli")


def monitor() -> int:
    return _run("quietdoor-monitor", "builder.monitor")
