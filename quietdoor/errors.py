"""The one error base of the shared core, so that a command catches one thing."""

from __future__ import annotations


class QuietDoorError(ValueError):
    """Bad input to the core: a config, an envelope, a payload or a signed request.

    The message is one sentence for a person; it names the file or field at fault.
    """
