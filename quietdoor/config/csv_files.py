"""CSV files named by the config (schools_csv, placements_csv), read a row at a time.

A row is checked like a TOML table of the same keys and reported as ``line N``
of its file; a state's file is never held whole.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quietdoor.config.errors import ConfigError
from quietdoor.config.reader import Reader


@dataclass(frozen=True)
class CsvTable:
    """A CSV file named in the config: its header, then its rows as they are read."""

    reader: Reader
    header: list[str]
    rows: CsvRows

    def table(self, values: list[str]) -> dict[str, str]:
        """A row as a table of its cells, empty cells left out: what a TOML table would hold."""
        return {h: v for h, v in zip(self.header, values, strict=True) if v.strip()}

    def here(self) -> str:
        """Where the row last read is, for a message about it."""
        return f"line {self.rows.line}"

    def where(self, k: int) -> str:
        """Where row k (from 0) is: the file read again, as this is asked only to report."""
        rows = CsvRows(self.reader.path)
        next(itertools.islice(rows, k + 1, None))
        return f"line {rows.line}"


class CsvRows:
    """A CSV file's rows, read once as they are wanted and let go: never a state's file whole.

    The first row is the header as it stands ([] for an empty file). Blank lines are
    skipped; a later row of another width than the header's is an error. ``line`` is
    the line the row last handed out ends on, for messages.

    The reading generator does not hold this object (no reference cycle), so the file
    is closed as soon as the rows are dropped, also when a row's error stops the load
    while the cyclic collector is paused.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._reader: list[Any] = []  # the csv reader, once the file is open
        self._rows = read_csv(path, self._reader)

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows

    @property
    def line(self) -> int:
        return int(self._reader[0].line_num)


def read_csv(path: Path | str, opened: list[Any]) -> Iterator[list[str]]:
    """The rows of CsvRows; the csv reader is put in ``opened`` for its line numbers."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            lines = csv.reader(f)
            opened.append(lines)
            header = next(lines, [])
            yield header
            width = len(header)
            for values in lines:
                if len(values) != width:
                    if not any(v.strip() for v in values):
                        continue
                    raise ConfigError(
                        path,
                        f"line {lines.line_num}",
                        f"{len(values)} cells, but the header names {width}",
                    )
                yield values
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(path, "", f"cannot read the file ({exc})") from None


def csv_table(
    r: Reader,
    raw: Mapping[str, Any],
    key: str,
    columns: frozenset[str],
    required: Sequence[str],
) -> CsvTable | None:
    """The CSV file that ``key`` names (relative to the config), or None if it names none.

    The first line names the columns, in any order; a column we do not know is an
    error, like an unknown key. Each row is reported as ``line N`` of its file.
    """
    if key not in raw:
        return None
    name = r.text(raw, key)
    csv_path = Path(r.path).parent / name if not Path(name).is_absolute() else Path(name)
    if not csv_path.is_file():
        raise ConfigError(r.path, key, f"{str(csv_path)!r}: file not found")
    rows = CsvRows(csv_path)
    header = [h.strip() for h in next(iter(rows))]
    if not any(header):
        raise ConfigError(csv_path, "line 1", "expected a header line naming the columns")
    reader = Reader(csv_path, cells=True)
    reader.known_keys(dict.fromkeys(header), "line 1", columns)
    for column in header:
        if header.count(column) > 1:
            # Which of the two cells would count? Neither guess is safe.
            raise ConfigError(csv_path, f"line 1: {column}", "this column is named twice")
    for column in required:
        if column not in header:
            raise ConfigError(csv_path, "line 1", f"missing the column {column!r}")
    return CsvTable(reader, header, rows)
