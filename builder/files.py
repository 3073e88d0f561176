"""Writing output files: only when their bytes change, with their precompressed copies."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from builder import compress


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write only when the bytes differ, so that an unchanged file keeps its time stamp.

    The new bytes go to a temporary file first, then replace the old file in one
    step, so that a host serving the folder never sends half a file.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data)
    return True


def _replace(path: Path, data: bytes) -> None:
    """Put data at path in one step: a reader sees the old bytes or the new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def publish(out_dir: Path, path: str, data: bytes, effort: compress.Effort = compress.FILES) -> str:
    """Write a file (and its precompressed copies) when it changed; its SHA-256.

    Shared files and each school's pages alike: a rebuilt school whose page came
    out the same keeps the file, its time stamp and its copies.
    """
    target = out_dir / path
    write_if_changed(target, data)
    copies = [target.with_name(target.name + s) for s in compress.copies(path).values()]
    if copies:
        written = target.stat().st_mtime_ns
        if not all(c.is_file() and c.stat().st_mtime_ns >= written for c in copies):
            for suffix, packed in compress.variants(path, data, effort).items():
                _replace(target.with_name(target.name + suffix), packed)
    return hashlib.sha256(data).hexdigest()


def expected_with_copies(paths: Iterable[str]) -> set[str]:
    """The given published paths and the names of their precompressed copies."""
    expected = set()
    for path in paths:
        expected.add(path)
        expected.update(path + suffix for suffix in compress.copies(path).values())
    return expected


def remove_unexpected(root: Path, folder: str, expected: set[str]) -> list[str]:
    """Delete every file under root/folder whose path (relative to root) is not expected.

    Returns the deleted paths; empty folders left behind are removed too.
    """
    removed: list[str] = []
    base = root / folder
    if not base.is_dir():
        return removed
    for dirpath, _dirnames, filenames in os.walk(base, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            rel = (here / name).relative_to(root).as_posix()
            if rel not in expected:
                (here / name).unlink()
                removed.append(rel)
        if here != base and not any(here.iterdir()):
            here.rmdir()
    return removed


def remove_tree(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
