"""``ChannelSender``: deliver an alert message through Airflow's own notifier for a channel's connection.

A channel is an Airflow connection id; its type picks the notifier: ``smtp``/``email`` →
``SmtpNotifier`` (apache-airflow-providers-smtp), ``slackwebhook`` → ``SlackWebhookNotifier``
(-slack), ``apprise`` → ``AppriseNotifier`` (-apprise). The channel ``log`` is the offline
default (``AimodLogNotifier``). Notifiers are called with ``notify()`` directly, not rendered as
templates: alert text comes from data and must never be evaluated as Jinja.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from airflow_aimod.exceptions import ConfigurationError, NotificationFailed

LOG_CHANNEL = "log"
KINDS = {"smtp": "smtp", "email": "smtp", "slackwebhook": "slack", "slack_webhook": "slack", "apprise": "apprise"}
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)


class ChannelSender:
    """Callable ``(channel, message)``: one message to one channel; ``NotificationFailed`` when it cannot."""

    def __init__(self, *, mail_to: Sequence[str] = (), mail_from: str | None = None, context: Any = None) -> None:
        self.mail_to, self.mail_from, self.context = list(mail_to), mail_from, context or {}

    def __call__(self, channel: str, message: Any) -> None:
        from dataclasses import replace

        from airflow_aimod.core.redaction import scrub

        message = replace(message, subject=scrub(message.subject), text=scrub(message.text), html=scrub(message.html))
        notifier = self.notifier(channel, message)
        try:
            notifier.notify(self.context)
        except Exception as exc:  # any notifier error becomes one line, with no URL (webhook tokens live there)
            detail = _URL.sub("<url>", str(scrub(str(exc))).splitlines()[0] if str(exc) else "")[:200]
            raise NotificationFailed(f"{type(exc).__name__} sending to channel {channel!r}: {detail}") from None

    def notifier(self, channel: str, message: Any) -> Any:
        """The Airflow notifier for ``channel`` carrying ``message``."""
        if channel == LOG_CHANNEL:
            from airflow_aimod.notifications.log import AimodLogNotifier

            return AimodLogNotifier(message=f"{message.subject}\n{message.text}")
        kind = KINDS.get(_conn_type(channel))
        if kind == "smtp":
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            to = self.mail_to or _extra(channel).get("to")
            if not to:
                raise ConfigurationError(f"mail channel {channel!r} has no recipients: pass mail_to=[...] or set "
                                         "\"to\" in the connection's extra")
            return SmtpNotifier(to=to, from_email=self.mail_from or _extra(channel).get("from_email") or "aimod@localhost",
                                subject=message.subject, html_content=message.html, smtp_conn_id=channel)
        if kind == "slack":
            from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

            return SlackWebhookNotifier(slack_webhook_conn_id=channel, text=f"*{message.subject}*\n{message.text}")
        if kind == "apprise":
            from airflow.providers.apprise.notifications.apprise import AppriseNotifier

            return AppriseNotifier(body=message.text, title=message.subject, apprise_conn_id=channel)
        raise ConfigurationError(f"channel {channel!r} is a {_conn_type(channel) or 'missing'} connection; use an smtp, "
                                 "slackwebhook or apprise connection (or the channel 'log')")


def _conn_type(conn_id: str) -> str:
    from airflow_aimod.hooks.warehouse import get_connection

    try:
        return (get_connection(conn_id).conn_type or "").lower()
    except Exception:
        return ""


def _extra(conn_id: str) -> dict[str, Any]:
    from airflow_aimod.hooks.warehouse import get_connection

    return dict(get_connection(conn_id).extra_dejson or {})
