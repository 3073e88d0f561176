"""What the key tool remembers between runs besides keys: the relay, the config, the course.

The desk and a command may run at once: each change is read, merged by key and
written as one step under a lock, so that no writer drops what another remembered.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from keytool.errors import KeyToolError
from keytool.home import FILE_MODE, private_home, write_private
from quietdoor import strictjson

if sys.platform == "win32":  # a lead's laptop may run Windows
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


SETTINGS_FILE = "settings.json"
LOCK_FILE = ".settings.lock"


@dataclass(frozen=True)
class Settings:
    relay_url: str = ""
    config: str = ""  # the deployment config: who the colleagues are, whom to seal replies to
    modules: str = ""  # the course's training/course.json: a URL or a built site folder


def load_settings(home: Path) -> Settings:
    path = home / SETTINGS_FILE
    try:
        data = strictjson.loads(path.read_bytes(), max_bytes=64 * 1024)
        if not isinstance(data, dict):
            raise ValueError(path)
        fields = {f.name for f in dataclasses.fields(Settings)}
        return Settings(**{k: str(v) for k, v in data.items() if k in fields})
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        raise KeyToolError(f"{path} is damaged; delete it and pass --relay again") from None


def update_settings(home: Path, **changes: str) -> Settings:
    """Change these keys only, keeping every other as the file has it now; the result."""
    lock = private_home(home) / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise KeyToolError(f"cannot use {lock} ({exc.strerror})") from None
    try:
        _lock(fd)
        current = load_settings(home)
        updated = dataclasses.replace(current, **changes)
        if updated != current:
            text = json.dumps(dataclasses.asdict(updated), indent=2)
            write_private(home / SETTINGS_FILE, text.encode("utf-8"))
        return updated
    finally:
        os.close(fd)  # releases the lock


def remembered_location(text: str) -> str:
    """A URL as it is; a path made absolute, so the tool finds it again from any folder."""
    if urlsplit(text).scheme in ("http", "https"):
        return text
    return str(Path(text).expanduser().resolve())
