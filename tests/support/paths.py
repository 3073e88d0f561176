"""The repository's folders and the example deployment the tests start from."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


EXAMPLE = ROOT / "examples" / "demo.toml"
