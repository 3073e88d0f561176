"""What the key tool remembers between runs besides keys: where the relay and course are."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from keytool.errors import KeyToolError

SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class Settings:
    relay_url: str = ""
    modules: str = ""  # the course's training/course.json: a URL or a built site folder


def load_settings(home: Path) -> Settings:
    path = home / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Settings(
            relay_url=str(data.get("relay_url", "")), modules=str(data.get("modules", ""))
        )
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError, AttributeError):
        raise KeyToolError(f"{path} is damaged; delete it and pass --relay again") from None


def save_settings(home: Path, settings: Settings) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(settings), indent=2), encoding="utf-8")
    tmp.rename(path)
