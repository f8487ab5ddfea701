"""AimodLogNotifier: an alert written to the task log, for set-ups with no chat or mail notifier yet."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


class AimodLogNotifier(BaseNotifier):
    """Log ``message`` (templated; default ``{{ aimod_summary }}``) at WARNING level.

    Swap it for ``SlackNotifier(text="{{ aimod_summary }}")``, ``SmtpNotifier`` or any
    ``BaseNotifier`` in production; the health rule calls every notifier the same way.
    """

    template_fields: Sequence[str] = ("message",)

    def __init__(self, *, message: str = "{{ aimod_summary }}") -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        log.warning("%s", self.message)
