"""The deployment config: one TOML file read by the builder, the relay and the demo.

Every bad value is reported as ``file: field: problem`` so that a person editing
the file by hand can find and fix it without reading a traceback.

The modules, in the order a load goes through them: ``keys`` (what a config may
hold), ``reader`` (typed checks of raw values), ``entries`` (a school or
placement from a table or a CSV row), ``csv_files`` and ``csv_schools`` (CSV
files, and the fast path for a state's schools), ``load`` (the whole file into a
``model.Deployment``), and ``dump`` (a Deployment back to TOML).
"""

from quietdoor.config.cover import (
    alert_routes,
    channels_elsewhere,
    covers_every_hour,
    on_call_around_the_clock,
    without_keys,
    without_route,
)
from quietdoor.config.dump import dump_config, recipient_snippet
from quietdoor.config.errors import ConfigError
from quietdoor.config.hours import DAY_NAMES, HOURS_RE, ReadHours
from quietdoor.config.keys import (
    DISTRICT_KEYS,
    EMAIL_RE,
    ENV_NAME_RE,
    NOTIFY_KEYS,
    NOTIFY_MODES,
    PAPER_SIZES,
    PLACEMENT_COLUMNS,
    PLACEMENT_ID_RE,
    PLACEMENT_KEYS,
    PLACEMENT_KINDS,
    PLACEMENT_REQUIRED,
    PREVIOUS_KEYS,
    RECIPIENT_KEYS,
    RELAY_COUNTS,
    RELAY_KEYS,
    RELAY_ZERO_TURNS_OFF,
    SCHOOL_COLUMNS,
    SCHOOL_KEYS,
    SCHOOL_REQUIRED,
    SMTP_SCHEMES,
    TOP_KEYS,
    TRAINING_KEYS,
)
from quietdoor.config.load import load_config, parse_config
from quietdoor.config.model import (
    DEFAULT_REFRESHER_MONTHS,
    Deployment,
    District,
    NotifySettings,
    Placement,
    PreviousKeys,
    Recipient,
    RelayLimits,
    School,
    TrainingSettings,
)
from quietdoor.languages import SUPPORTED_LANGUAGES
from quietdoor.states import STATE_CODE_RE, known_states

__all__ = [
    "DAY_NAMES",
    "DEFAULT_REFRESHER_MONTHS",
    "DISTRICT_KEYS",
    "EMAIL_RE",
    "ENV_NAME_RE",
    "HOURS_RE",
    "NOTIFY_KEYS",
    "NOTIFY_MODES",
    "PAPER_SIZES",
    "PLACEMENT_COLUMNS",
    "PLACEMENT_ID_RE",
    "PLACEMENT_KEYS",
    "PLACEMENT_KINDS",
    "PLACEMENT_REQUIRED",
    "PREVIOUS_KEYS",
    "RECIPIENT_KEYS",
    "RELAY_COUNTS",
    "RELAY_KEYS",
    "RELAY_ZERO_TURNS_OFF",
    "SCHOOL_COLUMNS",
    "SCHOOL_KEYS",
    "SCHOOL_REQUIRED",
    "SMTP_SCHEMES",
    "STATE_CODE_RE",
    "SUPPORTED_LANGUAGES",
    "TOP_KEYS",
    "TRAINING_KEYS",
    "ConfigError",
    "Deployment",
    "District",
    "NotifySettings",
    "Placement",
    "PreviousKeys",
    "ReadHours",
    "Recipient",
    "RelayLimits",
    "School",
    "TrainingSettings",
    "alert_routes",
    "channels_elsewhere",
    "covers_every_hour",
    "dump_config",
    "known_states",
    "load_config",
    "on_call_around_the_clock",
    "parse_config",
    "recipient_snippet",
    "without_keys",
    "without_route",
]
