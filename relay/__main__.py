"""python -m relay, and the quietdoor-relay console script (the command: relay/cli.py).

Nothing heavy is imported here: the relay loads inside quietdoor.console's guard,
so Ctrl-C, even while it loads, ends in one line.
"""

import sys

from quietdoor import console


def cli() -> int:
    return console.run_lazy("relay", "relay.cli:main")


if __name__ == "__main__":
    sys.exit(cli())
