"""The fast path for a state's schools from CSV: 130,000 rows must load in seconds.

Each trick here is a measured saving on that scale (figures in
bench/build_scale.py); none of them changes what is accepted or refused, which
the checks in entries.py alone decide. The records themselves stay plain.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import operator
from collections.abc import Iterator

from quietdoor.config import entries
from quietdoor.config.csv_files import CsvTable
from quietdoor.config.hours import ReadHours, parse_hours
from quietdoor.config.keys import SCHOOL_REQUIRED
from quietdoor.config.model import Deployment, District, School
from quietdoor.protocol import SLUG_RE


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a config loads, then as it was.

    A state's config leaves an object or two per school, all kept: the collector
    would walk them again and again as they pile up and free nothing, since a
    config makes no reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def add_csv_schools(
    table: CsvTable, schools: dict[str, School], districts: dict[str, District]
) -> None:
    """Add the schools of a CSV file's rows: a state's worth, so each row is kept cheap.

    A row that is plainly good (every cell valid as it stands, its district already
    known, its slug new) is added here directly. Any other row, the first of each
    district and any with a cell padded by spaces included, goes through
    entries.add_school like a [[schools]] table, which adds it or names its problem;
    so this path never decides what is an error.
    """
    column = table.header.index
    cells = operator.itemgetter(*map(column, SCHOOL_REQUIRED))
    named = column("district_name") if "district_name" in table.header else None
    new_school = functools.partial(tuple.__new__, School)  # what School() does, less a call
    is_slug = SLUG_RE.fullmatch
    # A dict lookup is cheaper than a call of the cached parse_hours, on every row.
    hours_of: dict[str, ReadHours] = {}
    for values in table.rows:
        slug, name, district, hours = cells(values)
        name = name.strip()
        known = districts.get(district)
        read_hours = hours_of.get(hours)
        if read_hours is None:
            parsed = parse_hours(hours)
            if isinstance(parsed, ReadHours):
                hours_of[hours] = read_hours = parsed
        if (
            known is not None
            and read_hours is not None
            and name
            and slug not in schools
            and is_slug(slug)
            and (named is None or not values[named] or values[named] == known.name)
        ):
            schools[slug] = new_school((slug, name, known.slug, read_hours))
        else:
            entries.add_school(table.reader, table.here(), table.table(values), schools, districts)


def keep_school_index(deployment: Deployment, schools: dict[str, School]) -> None:
    """Hand the loader's dict to the deployment as its school index: the same schools, in order.

    Set through vars() because the dataclass is frozen; it saves building a second
    dict of a state's schools.
    """
    vars(deployment)["_schools_by_slug"] = schools
