"""AlertManagerOperator: deduplicate, throttle, route and escalate alerts, sent through Airflow's notifiers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

ROUTE_KINDS = ("digest", "chat", "mail", "escalation")
DEFAULT_CHANNELS = {kind: ["log"] for kind in ROUTE_KINDS}


class AlertManagerOperator(AgentOperator):
    """Send ``alerts`` (and the alerts upstream agent outcomes raise) to the channels of their severity.

    Severity routes: ``info`` → the digest (sent when ``flush_digest``), ``warning`` → chat, ``critical`` →
    chat + mail. A channel is an Airflow connection (``smtp``, ``slackwebhook`` or ``apprise``; ``log``
    writes to the task log, the offline default); the envelope's ``channels`` lists the ones allowed
    (``envelope={"channels": ["slack_data", "smtp_oncall"]}``) and a send to any other is blocked. Repeats
    of one alert (same fingerprint: source, title, labels) inside ``throttle`` are counted in the AiMod
    store, not sent; the next message reports them. A critical alert nobody acknowledged within
    ``escalate_after`` goes to the ``escalation`` channels on the next run; with ``ack=True`` (and
    ``hitl=True``) a person acknowledges it on Required Actions, the request times out after
    ``escalate_after`` (Airflow's scheduler enforces it), and "Escalate" or the timeout escalates then.

    :param alerts: alerts as dicts (``title``, ``severity``, ``source``, ``body``, ``labels``, ``group``,
        ``resolved``), or a JSON string of them (templated).
    :param source_task_ids: upstream agent tasks whose outcomes raise (or resolve) alerts.
    :param channels: route kind (``chat``, ``mail``, ``digest``, ``escalation``) → connection ids.
    :param mail_to: recipients of mail channels (else the connection extra's ``to``).
    :param throttle: the dedup window. :param escalate_after: the acknowledgement timeout.
    :param routes: severity → route kinds, overriding the defaults above.
    :param flush_digest: send the info digest on this run.
    :param ack: ask a person to acknowledge the critical alerts sent (needs ``hitl=True``; the request times out
        after ``escalate_after`` and then escalates, so ``response_timeout``/``timeout_outcome`` are not taken).
    """

    agent_name = "alert_manager"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "alerts", "source_task_ids", "mail_to")

    def __init__(self, *, alerts: Any = (), source_task_ids: Sequence[str] = (),
                 channels: Mapping[str, Sequence[str]] | None = None, mail_to: Sequence[str] = (),
                 mail_from: str | None = None, throttle: timedelta = timedelta(hours=1),
                 escalate_after: timedelta = timedelta(minutes=15), routes: Mapping[str, Sequence[str]] | None = None,
                 flush_digest: bool = False, ack: bool = False, **kwargs: Any) -> None:
        from airflow_aimod.core.alerts import AlertPolicy

        if ack:
            _ack_timer(kwargs, escalate_after)
        super().__init__(**kwargs)
        channels = {k: list(v) for k, v in (channels or DEFAULT_CHANNELS).items()}
        if bad := set(channels) - set(ROUTE_KINDS):
            raise ConfigurationError(f"channels has unknown route kinds {sorted(bad)}; use {list(ROUTE_KINDS)}")
        for name, value in (("throttle", throttle), ("escalate_after", escalate_after)):
            if not isinstance(value, timedelta):
                raise ConfigurationError(f"{name} must be a timedelta, got {value!r}")
        self.policy = AlertPolicy(throttle_s=throttle.total_seconds(), escalate_after_s=escalate_after.total_seconds(),
                                  routes={k: tuple(v) for k, v in (routes or {}).items()})
        if isinstance(source_task_ids, str):
            source_task_ids = [source_task_ids]
        self.alerts, self.source_task_ids, self.channels = alerts, list(source_task_ids), channels
        self.mail_to = [mail_to] if isinstance(mail_to, str) else list(mail_to)
        self.mail_from, self.flush_digest, self.ack = mail_from, bool(flush_digest), bool(ack)

    def request_text(self) -> str:
        return f"Route alerts from {', '.join(self.source_task_ids) or 'the task'} to their channels"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[list[Any]]:
        """The alerts of this run: ``alerts`` then those the upstream outcomes raise."""
        from airflow_aimod.core.alerts import Alert
        from airflow_aimod.core.alerts.sources import alerts_from_outcome

        given = self.alerts
        if isinstance(given, str):
            try:
                given = json.loads(given) if given.strip() else []
            except ValueError:
                raise ConfigurationError(f"alerts must be a list of alert dicts or its JSON; got text that is not "
                                         f"JSON: {given[:80]!r}") from None
        if isinstance(given, dict):
            given = [given]
        if not isinstance(given, (list, tuple)) and given is not None:
            raise ConfigurationError(f"alerts must be a list of alert dicts, got {type(given).__name__}")
        found = [Alert.of(a) for a in (given or [])]
        for task_id in self.source_task_ids:
            found += alerts_from_outcome(context["ti"].xcom_pull(task_ids=task_id) or {}, source=task_id)
        yield found

    def build_graph(self, runtime: AgentRuntime, resources: list[Any], context: Context) -> StateGraph:
        from airflow_aimod.core.agents.alert_manager import AlertTools, build_graph
        from airflow_aimod.core.alerts import AlertState
        from airflow_aimod.notifications.channels import ChannelSender
        from airflow_aimod.observability.sinks import shared_store, store_url

        url = store_url()
        if url is None:
            raise ConfigurationError("the alert manager keeps dedup and escalation state in the AiMod store: set "
                                     "[aimod] store_url (it is 'off')")
        sender = ChannelSender(mail_to=self.mail_to, mail_from=self.mail_from,
                               context={"dag": context.get("dag"), "ti": context.get("ti")})
        tools = AlertTools(alerts=resources, state=AlertState(shared_store(url)), policy=self.policy,
                           channels=self.channels, send=sender, now=time.time, flush_digest=self.flush_digest,
                           ask_ack=self.ack)
        return build_graph(runtime, tools)


def _ack_timer(kwargs: dict[str, Any], escalate_after: Any) -> None:
    """With ``ack``, the Required Actions request times out after ``escalate_after`` and the timeout escalates."""
    if not kwargs.get("hitl"):
        raise ConfigurationError("ack=True asks a person on Required Actions: it needs hitl=True")
    if not isinstance(escalate_after, timedelta) or escalate_after <= timedelta(0):
        raise ConfigurationError(f"escalate_after must be a positive timedelta, got {escalate_after!r}")
    if kwargs.get("response_timeout") is not None:
        raise ConfigurationError("with ack=True the acknowledgement request times out after escalate_after: "
                                 "set escalate_after, not response_timeout")
    if kwargs.get("timeout_outcome", "reject") != "reject":
        raise ConfigurationError("with ack=True an unanswered acknowledgement escalates: leave timeout_outcome "
                                 "at 'reject'")
    kwargs["response_timeout"] = escalate_after
