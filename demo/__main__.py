"""python -m demo (the command: demo/cli.py), loaded inside quietdoor.console's guard.

The demo imports the builder, the relay and the key tool; Ctrl-C while they load
ends in one line, as it does once the demo runs.
"""

import sys

from quietdoor import console

if __name__ == "__main__":
    sys.exit(console.run_lazy("demo", "demo.cli:main"))
