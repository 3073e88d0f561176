"""python build.py --config PATH --out DIR: build a deployment's static site.

Writes the training site, a landing page per school and language, each school's
QR code (SVG and PNG), the vendored browser crypto, and manifest.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.errors import BuildError
from builder.progress import ProgressPrinter
from builder.site import build_site
from quietdoor.config import load_config
from quietdoor.errors import QuietDoorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python build.py", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("examples/demo.toml"))
    parser.add_argument("--out", type=Path, default=Path("dist"))
    args = parser.parse_args(argv)
    try:
        deployment = load_config(args.config)
        manifest = build_site(deployment, args.out, progress=ProgressPrinter())
    except (QuietDoorError, BuildError) as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    print(
        f"built {len(manifest['schools'])} schools and {len(manifest['files'])} files in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
