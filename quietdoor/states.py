"""US states as data the core owns: postal codes, names, and which the course covers.

A deployment's ``state`` names the state whose reporting rules the staff course
shows. The config checks it against this table, so it reads no course folder;
the builder reads the rules themselves from ``content/training/states/<code>.toml``,
and a test keeps ``COURSE_STATES`` and that folder in agreement. Adding a state
to the course means writing its rules file and adding its code here.
"""

from __future__ import annotations

import re
from types import MappingProxyType

STATE_CODE_RE = re.compile(r"^[A-Z]{2}$")

US_STATES = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
    }
)

# The states whose reporting rules the course has (one rules file each).
COURSE_STATES = ("CA", "FL", "NY", "OH", "TX")


def known_states() -> tuple[str, ...]:
    """The postal codes a deployment may name as its ``state``, in order."""
    return COURSE_STATES
