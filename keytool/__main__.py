"""python -m keytool, and the quietdoor-keytool console script (the commands: keytool/cli.py).

Nothing heavy is imported here: the key tool loads inside quietdoor.console's
guard, so `list --json | head` or Ctrl-C, even while it loads, ends in one line.
"""

import sys

from quietdoor import console


def cli() -> int:
    return console.run_lazy("keytool", "keytool.cli:main")


if __name__ == "__main__":
    sys.exit(cli())
