"""The keys and columns a config may have, and the values some of them may take.

A key not listed here is an error that names it (see Reader.known_keys).
"""

from __future__ import annotations

import re

PLACEMENT_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$")
PAPER_SIZES = ("letter", "a4")
PLACEMENT_KINDS = ("sign", "sticker")


TOP_KEYS = frozenset(
    {
        "organisation",
        "base_url",
        "relay_url",
        "languages",
        "allow_draft_languages",
        "quick_exit_url",
        "timezone",
        "notify",
        "relay",
        "districts",
        "schools",
        "recipients",
        "placements",
        "state",
        "training",
        "paper",
        "schools_csv",
        "placements_csv",
        "escalation",
    }
)
# [relay] keys that are positive whole numbers, and those where 0 turns something off.
RELAY_COUNTS = (
    "max_body_bytes",
    "daily_quota_per_school",
    "normal_daily_per_school",
    "header_timeout_seconds",
    "min_upload_bytes_per_second",
    "retention_days",
    "proof_of_work_tries",
    "address_burst",
    "school_budget_bytes",
)
RELAY_ZERO_TURNS_OFF = ("address_per_minute", "v1_accept_days")
RELAY_KEYS = frozenset(
    {*RELAY_COUNTS, *RELAY_ZERO_TURNS_OFF, "proof_of_work", "trusted_proxies", "v2_since"}
)
TRAINING_KEYS = frozenset(
    {"refresher_months", "new_hire_days", "pass_percent", "school_year_starts"}
)
DISTRICT_KEYS = frozenset({"slug", "name", "timezone", "closures"})
# A school's own languages are a [[schools]] key only: a state's CSV rows take the deployment's.
SCHOOL_KEYS = frozenset({"slug", "name", "district", "read_hours", "languages"})
RECIPIENT_KEYS = frozenset(
    {"id", "name", "x25519", "ed25519", "schools", "districts", "email", "webhook", "previous"}
)
PREVIOUS_KEYS = frozenset({"x25519", "ed25519", "until"})
NOTIFY_KEYS = frozenset({"smtp", "from", "window_minutes", "mode", "digest_at"})
NOTIFY_MODES = ("window", "digest")
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
ENV_NAME_RE = re.compile(r"env:[A-Z][A-Z0-9_]{0,63}")
EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
PLACEMENT_KEYS = frozenset({"school", "id", "location", "kind", "private"})
# Columns of the CSV files named by schools_csv and placements_csv: a table's keys, plus
# district_name, which declares a district that no [[districts]] table lists.
SCHOOL_COLUMNS = (SCHOOL_KEYS - {"languages"}) | {"district_name"}
PLACEMENT_COLUMNS = PLACEMENT_KEYS
SCHOOL_REQUIRED = ("slug", "name", "district", "read_hours")
PLACEMENT_REQUIRED = ("school", "id", "location")
ESCALATION_KEYS = frozenset({"urgent_hint", "pagerduty_url", "channels", "rotas", "ladders"})
CHANNEL_KEYS = frozenset(
    {"id", "kind", "url", "routing_key", "method", "content_type", "headers", "body"}
)
CHANNEL_KINDS = ("pagerduty", "webhook")
WEBHOOK_CONTENT_TYPES = ("json", "form")
PLACEHOLDER_RE = re.compile(r"\{(?:school|waited)\}")
ROTA_KEYS = frozenset({"id", "shifts"})
SHIFT_KEYS = frozenset({"recipient", "hours"})
LADDER_KEYS = frozenset({"id", "schools", "districts", "tiers"})
TIER_KEYS = frozenset(
    {"school", "rota", "recipients", "wait", "wait_outside", "realert", "channels"}
)
