"""ConfigError: one error for every config problem, naming the file and the field."""

from __future__ import annotations

from pathlib import Path

from quietdoor.errors import QuietDoorError


class ConfigError(QuietDoorError):
    """A deployment config that cannot be used; the message names file and field."""

    def __init__(self, path: Path | str, field_name: str, problem: str) -> None:
        self.path = str(path)
        self.field_name = field_name
        self.problem = problem
        where = f"{self.path}: {field_name}: " if field_name else f"{self.path}: "
        super().__init__(where + problem)
