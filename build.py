"""python build.py: quietdoor-build from a checkout (the command: builder/cli.py)."""

import sys

from builder.entry import build

if __name__ == "__main__":
    sys.exit(build())
