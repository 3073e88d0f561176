"""python build.py: quietdoor-build from a checkout (see builder/cli.py)."""

import sys

from builder.cli import cli

if __name__ == "__main__":
    sys.exit(cli())
