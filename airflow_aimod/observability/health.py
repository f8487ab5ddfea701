"""``HealthRule``: alert through an Airflow notifier when an agent's runs fail.

The rule reads the AiMod store over a window. A run that ended with a person (the router found no agent
that fits, a PII query waits for approval) is the design working, not a failure: the rule alerts on
errors and only reports escalations. Each agent whose share of finished runs that did not fail is below
``min_success_rate`` (with at least ``min_runs`` finished runs, so one failure at night does not page
anyone) is a breach. Breaches go to any ``BaseNotifier`` (Slack, SMTP, ...)
in one call, with ``aimod_breaches`` and a one-line ``aimod_summary`` in the context, so a
templated notifier can write e.g. ``text="{{ aimod_summary }}"``. Run it from a small
scheduled DAG task: ``HealthRule().check(queries, notifier)``.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Breach:
    """One agent below the rule's success rate (runs that did not fail, escalations included)."""

    agent: str
    success_rate: float
    finished: int
    failed: int
    window_s: float
    escalated: int = 0

    def describe(self) -> str:
        handed = f"; {self.escalated} handed to a person" if self.escalated else ""
        window = f"{self.window_s / 3600:g} h" if self.window_s >= 3600 else f"{self.window_s / 60:.0f} min"
        return (f"{self.agent}: {self.success_rate:.0%} without error over the last {window} "
                f"({self.failed} of {self.finished} runs failed{handed})")


@dataclass(frozen=True)
class HealthRule:
    """At least ``min_success_rate`` of the finished runs over ``window`` did not fail, for every agent (or those
    in ``agents``). Escalations to a person count as runs that did not fail."""

    min_success_rate: float = 0.9
    window: timedelta = timedelta(hours=1)
    min_runs: int = 5
    agents: Collection[str] | None = field(default=None)

    def __post_init__(self) -> None:
        if not 0 <= self.min_success_rate <= 1:
            raise ValueError(f"min_success_rate is a fraction in [0, 1] (0.9 means 90%), got {self.min_success_rate}")
        if isinstance(self.window, (int, float)):
            object.__setattr__(self, "window", timedelta(seconds=self.window))
        if self.window.total_seconds() <= 0 or self.min_runs < 1:
            raise ValueError("window must be positive and min_runs at least 1")
        if self.agents is not None:
            object.__setattr__(self, "agents", frozenset(self.agents))

    def evaluate(self, queries: Any, *, now: float) -> list[Breach]:
        """The breaches at ``now`` (pure: the store and the time decide)."""
        window = self.window.total_seconds()
        breaches = []
        for row in queries.agent_health(window=window, now=now):
            if self.agents is not None and row["agent"] not in self.agents:
                continue
            if row["error_rate"] is None or row["finished"] < self.min_runs:
                continue
            rate = 1.0 - row["error_rate"]
            if rate < self.min_success_rate:
                breaches.append(Breach(row["agent"], rate, row["finished"], row["failed"], window, row["escalated"]))
        return breaches

    def check(self, queries: Any, notifier: Any, *, now: float | None = None,
              context: Mapping[str, Any] | None = None) -> list[Breach]:
        """Evaluate and, when anything breached, call ``notifier`` once; return the breaches."""
        breaches = self.evaluate(queries, now=time.time() if now is None else now)
        if breaches:
            notifier(self.alert_context(breaches, context))
        return breaches

    def alert_context(self, breaches: list[Breach], context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The notifier's context: the caller's (e.g. the task's) plus the breaches and a summary line."""
        summary = (f"AiMod health: {len(breaches)} agent(s) below {self.min_success_rate:.0%} of runs without error — "
                   + "; ".join(b.describe() for b in breaches))
        return {**(context or {}), "aimod_breaches": [b.__dict__ for b in breaches], "aimod_summary": summary}
