"""One demo per folder: a second demo must not rebuild the first one's site or rewrite its keys.

Each folder a demo writes (its var folder: keys, config, database; and its output
folder) is claimed with an exclusive lock on a small file named after the
folder's absolute path, under var/.demo-locks in the checkout. The locks are
inherited by the relay the demo turns into (os.execv keeps the descriptors), so
they last exactly as long as that demo runs, and vanish when it stops or dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

LOCKS = Path(__file__).resolve().parent.parent / "var" / ".demo-locks"


class FolderInUse(Exception):
    """Another running demo writes into this folder."""


def claim(folder: Path, port: int) -> int:
    """Lock the folder for this demo; the descriptor (kept open through exec) holds it."""
    LOCKS.mkdir(parents=True, exist_ok=True)
    path = str(folder.resolve())
    lock = LOCKS / (hashlib.sha256(path.encode()).hexdigest()[:20] + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise FolderInUse(
            f"{path} is in use by the demo running on port {holder}; "
            "give this one its own --var and --out (or stop the other one)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(port).encode())
    os.set_inheritable(fd, True)
    return fd
