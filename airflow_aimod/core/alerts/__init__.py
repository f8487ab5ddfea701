"""Alert management, pure: alerts, the policy (dedup, throttle, routes, escalation), messages, store state."""

from airflow_aimod.core.alerts.messages import Message, render
from airflow_aimod.core.alerts.policy import SEVERITIES, Alert, AlertPolicy, AlertRow, Decision
from airflow_aimod.core.alerts.state import AlertState

__all__ = ["SEVERITIES", "Alert", "AlertPolicy", "AlertRow", "AlertState", "Decision", "Message", "render"]
