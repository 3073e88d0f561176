"""The relay's log: one JSON object a line, operational events only.

Events are start and stop, errors, a school reaching its quota, a school's proof
of work getting harder, retention deletions, notices that could not go. There is
no line per request or submission (its time would record when a report
arrived), and no line holds an address, a user agent, a case id or anything a
student sent: a test reads the log under load for all of these. uvicorn's
access log is off; its own start-up and error lines come through here too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

# Fields a log call may add (logging's `extra`); anything else is not written.
FIELDS = ("event", "store", "school", "tries", "deleted", "http", "loop", "version", "reason")


class JSONLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback's text could quote a request.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=True)


# No access log: it would hold addresses, user agents and precise times of
# students' requests. Our own lines and uvicorn's errors carry none of these.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JSONLines}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "relay": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
