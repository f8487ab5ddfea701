"""Alerts and the policy that decides what happens to each: send, suppress, digest, resolve, escalate.

Pure and clock-free: ``AlertPolicy.decide(alert, row, now=...)`` reads the alert's stored state
(``AlertRow``, or ``None`` the first time) and returns a ``Decision``. Deduplication is by
fingerprint (source, title and labels; the body may change between repeats); a repeat inside
the throttle window is counted, never dropped, and the next message that goes out says how many
were held back. Severity routes: info → digest, warning → chat, critical → chat + mail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

SEVERITIES = ("info", "warning", "critical")
ROUTE_KINDS = ("digest", "chat", "mail", "escalation")
DEFAULT_ROUTES = MappingProxyType({"info": ("digest",), "warning": ("chat",), "critical": ("chat", "mail")})


@dataclass(frozen=True)
class Alert:
    """One alert as raised by a rule or an agent; ``resolved=True`` says the condition cleared."""

    title: str
    severity: str = "warning"
    source: str = ""
    body: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    group: str = ""
    resolved: bool = False
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise ConfigurationError("an alert needs a non-empty title")
        if self.severity not in SEVERITIES:
            raise ConfigurationError(f"alert severity must be one of {list(SEVERITIES)}, got {self.severity!r}")
        labels = {str(k): str(v) for k, v in dict(self.labels or {}).items()}
        object.__setattr__(self, "labels", MappingProxyType(labels))
        object.__setattr__(self, "group", self.group or self.source or self.title)
        if not self.fingerprint:
            raw = json.dumps([self.source, self.title.strip(), sorted(labels.items())])
            object.__setattr__(self, "fingerprint", hashlib.blake2b(raw.encode(), digest_size=10).hexdigest())

    @classmethod
    def of(cls, data: Mapping[str, Any] | Alert) -> Alert:
        """An alert from a mapping (an XCom, a DAG's literal); unknown keys fail with the known ones."""
        if isinstance(data, Alert):
            return data
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"an alert must be a mapping with at least a title, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        if unknown := set(data) - known:
            raise ConfigurationError(f"unknown alert field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "severity": self.severity, "source": self.source, "body": self.body,
                "labels": dict(self.labels), "group": self.group, "resolved": self.resolved,
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class AlertRow:
    """What the store knows about one fingerprint."""

    fingerprint: str
    severity: str
    status: str  # firing | resolved
    first_seen: float
    last_seen: float
    first_sent: float | None = None
    last_sent: float | None = None
    occurrences: int = 0
    suppressed: int = 0
    pending_digest: bool = False
    acked_at: float | None = None
    escalated_at: float | None = None
    title: str = ""
    group_key: str = ""
    body: str = ""
    acked_by: str | None = None


@dataclass(frozen=True)
class Decision:
    """What to do with one alert: ``action`` is send, suppress, digest, resolve or ignore."""

    action: str
    routes: tuple[str, ...] = ()
    repeats: int = 0  # occurrences held back since the last message, reported with this one
    reason: str = ""


@dataclass(frozen=True)
class AlertPolicy:
    """Throttle window, escalation timeout and severity routes (severity → route kinds)."""

    throttle_s: float = 3600.0
    escalate_after_s: float = 900.0
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))

    def __post_init__(self) -> None:
        if self.throttle_s < 0 or self.escalate_after_s <= 0:
            raise ConfigurationError("throttle_s must be >= 0 and escalate_after_s > 0 (seconds)")
        routes = {**DEFAULT_ROUTES, **{k: tuple(v) for k, v in dict(self.routes).items()}}
        if bad := set(routes) - set(SEVERITIES):
            raise ConfigurationError(f"routes name unknown severities {sorted(bad)}; use {list(SEVERITIES)}")
        for severity, kinds in routes.items():
            if bad := set(kinds) - set(ROUTE_KINDS):
                raise ConfigurationError(f"routes[{severity!r}] has unknown kinds {sorted(bad)}; use {list(ROUTE_KINDS)}")
        object.__setattr__(self, "routes", MappingProxyType(routes))

    def decide(self, alert: Alert, row: AlertRow | None, *, now: float) -> Decision:
        """The decision for ``alert`` given its stored ``row`` at time ``now`` (seconds)."""
        firing = row is not None and row.status == "firing"
        if alert.resolved:
            if not firing:
                return Decision("ignore", reason="nothing firing to resolve")
            return Decision("resolve", self.routes[row.severity], repeats=row.suppressed, reason="condition cleared")
        routes = self.routes[alert.severity]
        if not firing:
            return self._deliver(routes, 0, "new alert")
        upgraded = SEVERITIES.index(alert.severity) > SEVERITIES.index(row.severity)
        if upgraded:
            return self._deliver(routes, row.suppressed, f"severity rose from {row.severity} to {alert.severity}")
        if row.last_sent is not None and now - row.last_sent < self.throttle_s:
            return Decision("suppress", routes, reason=f"repeat within the {self.throttle_s:g} s throttle window")
        if row.pending_digest and routes == ("digest",):
            return Decision("suppress", routes, reason="already waiting in the digest")
        return self._deliver(routes, row.suppressed, "repeat after the throttle window")

    def escalation_due(self, row: AlertRow, *, now: float) -> bool:
        """A critical alert, still firing, sent, not acknowledged and not yet escalated after the timeout."""
        return (row.severity == "critical" and row.status == "firing" and row.acked_at is None
                and row.escalated_at is None and row.first_sent is not None
                and now - row.first_sent >= self.escalate_after_s)

    @staticmethod
    def _deliver(routes: tuple[str, ...], repeats: int, reason: str) -> Decision:
        return Decision("digest" if routes == ("digest",) else "send", routes, repeats, reason)
