"""What the key tool remembers between runs besides keys: the relay, the config, the course."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from keytool.errors import KeyToolError
from keytool.home import private_home, write_private
from quietdoor import strictjson

SETTINGS_FILE = "settings.json"


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


def save_settings(home: Path, settings: Settings) -> None:
    private_home(home)
    text = json.dumps(dataclasses.asdict(settings), indent=2)
    write_private(home / SETTINGS_FILE, text.encode("utf-8"))


def remembered_location(text: str) -> str:
    """A URL as it is; a path made absolute, so the tool finds it again from any folder."""
    if urlsplit(text).scheme in ("http", "https"):
        return text
    return str(Path(text).expanduser().resolve())
