"""The key tool's home folder and every file it writes: readable by their owner only.

A lead's laptop may be shared or backed up carelessly; the inbox is ciphertext,
but an export of the roster holds names. So the home is 0700 and every file the
tool writes is 0600, also when the folder or the file existed before with
looser rights.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from keytool.errors import KeyToolError

HOME_MODE = 0o700
FILE_MODE = 0o600


def private_home(home: Path) -> Path:
    try:
        home.mkdir(parents=True, exist_ok=True, mode=HOME_MODE)
        os.chmod(home, HOME_MODE)
    except OSError as exc:
        raise KeyToolError(f"cannot use {home} as the key tool's home ({exc.strerror})") from None
    return home


def private_file(home: Path, name: str) -> Path:
    """A file in the home, created empty with owner-only rights if it is missing."""
    path = private_home(home) / name
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        os.chmod(path, FILE_MODE)
    except OSError as exc:
        raise KeyToolError(f"cannot use {path} ({exc.strerror})") from None
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a whole file atomically, readable by its owner only (an export, settings, keys).

    Each writer has its own temporary file, so two runs writing at once never rename
    each other's.
    """
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise KeyToolError(f"cannot write {path} ({exc.strerror})") from None
