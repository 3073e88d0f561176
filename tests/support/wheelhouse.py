"""Wheels of what this venv has installed, packed again from each RECORD: nothing downloaded.

pip keeps no wheel of what it installed (and CI's pip cache may be empty), so the
packaging test packs the installed files of each distribution the project needs
back into a wheel: the same files, named by the first of the WHEEL file's tags this Python takes.
Console scripts and data outside site-packages are left out; pip writes the
scripts again from entry_points.txt.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name

LEFT_OUT = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def needed(roots: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions these requirements pull in, with their extras."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name, extras = canonicalize_name(req.name), frozenset(req.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = found.setdefault(name, metadata.distribution(name))
        for text in dist.requires or []:
            sub = Requirement(text)
            wanted = [{"extra": e} for e in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in wanted):
                todo.append(sub)
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def repack(dist: metadata.Distribution, into: Path) -> Path:
    """One installed distribution as a wheel file in `into`."""
    files = [f for f in dist.files or [] if _kept(f.parts)]
    info = next(f for f in files if f.name == "WHEEL" and f.parent.name.endswith(".dist-info"))
    compatible = {str(t) for t in sys_tags()}
    tag = next(
        tag
        for line in Path(str(dist.locate_file(info))).read_text().splitlines()
        if line.startswith("Tag:") and (tag := line.split(":", 1)[1].strip()) in compatible
    )
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    path = into / f"{name}-{dist.version}-{tag}.whl"
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for f in files:
            data = Path(str(dist.locate_file(f))).read_bytes()
            wheel.writestr(f.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{f.as_posix()},sha256={digest.decode()},{len(data)}")
        record.append(f"{info.parent.as_posix()}/RECORD,,")
        wheel.writestr(f"{info.parent.as_posix()}/RECORD", "\n".join(record) + "\n")
    return path


def _kept(parts: tuple[str, ...]) -> bool:
    outside = parts[0] == ".."  # console scripts, data in the venv's share/
    cached = "__pycache__" in parts or parts[-1].endswith(".pyc")
    return (
        not outside
        and not cached
        and not (parts[0].endswith(".dist-info") and parts[-1] in LEFT_OUT)
    )
