"""One school or placement, from a TOML table or a CSV row: checked, then added."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quietdoor.config.errors import ConfigError
from quietdoor.config.keys import PLACEMENT_KINDS
from quietdoor.config.model import District, Placement, School
from quietdoor.config.reader import Reader, join


def add_school(
    r: Reader,
    where: str,
    s: Mapping[str, Any],
    schools: dict[str, School],
    districts: dict[str, District],
) -> None:
    """Check a [[schools]] table or CSV row and add its school, and the district a row declares."""
    school = School(
        slug=r.slug(s, join(where, "slug")),
        name=r.text(s, "name", where),
        district=r.text(s, "district", where),
        read_hours=r.hours(s, where),
    )
    if school.district not in districts:
        if "district_name" not in s:
            raise ConfigError(
                r.path,
                join(where, "district"),
                f"no district has slug {school.district!r} "
                "(add a [[districts]] table, or a district_name column)",
            )
        districts[school.district] = District(
            slug=r.slug(s, join(where, "district")),
            name=r.text(s, "district_name", where),
        )
    elif "district_name" in s and s["district_name"] != districts[school.district].name:
        raise ConfigError(
            r.path,
            join(where, "district_name"),
            f"{s['district_name']!r} differs from the name given before "
            f"({districts[school.district].name!r})",
        )
    if school.slug in schools:
        raise ConfigError(r.path, join(where, "slug"), f"{school.slug!r} is used twice")
    schools[school.slug] = school


def add_placement(
    r: Reader,
    where: str,
    p: Mapping[str, Any],
    schools: Mapping[str, School],
    placements: dict[tuple[str, str], Placement],
) -> None:
    """Check a [[placements]] table or CSV row and add its placement."""
    placement = Placement(
        school=r.text(p, "school", where),
        id=r.placement_id(p, where),
        location=r.text(p, "location", where),
        kind=r.choice(p, "kind", PLACEMENT_KINDS, where, default="sign"),
        private=r.boolean(p, "private", where, default=False),
    )
    if placement.school not in schools:
        raise ConfigError(r.path, join(where, "school"), f"no school has slug {placement.school!r}")
    if (placement.school, placement.id) in placements:
        raise ConfigError(
            r.path, join(where, "id"), f"{placement.id!r} is used twice at {placement.school!r}"
        )
    placements[placement.school, placement.id] = placement
