"""``StatsSink``: agent metrics through Airflow's ``Stats`` (StatsD / OpenTelemetry, as configured).

Names (each also tagged ``agent=<agent>`` for backends that take tags):

- ``aimod.agent.<agent>.llm_calls`` / ``.llm_tokens`` / ``.llm_tokens_in`` / ``.llm_tokens_out`` (counters)
- ``aimod.agent.<agent>.llm_latency`` (timer, ms) — per LLM call
- ``aimod.agent.<agent>.errors`` / ``.timeouts`` (counters) — per error event
- ``aimod.agent.<agent>.status.<status>`` (counter) and ``.latency`` (timer, ms) — per finished run
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_aimod.core.store.records import Outcome

log = logging.getLogger("airflow_aimod.stats")
PREFIX = "aimod.agent"


def stats_backend() -> Any:
    """Airflow's Stats facade: the Task SDK one in 3.3+, ``airflow.stats`` before."""
    try:
        from airflow.sdk.observability.stats import Stats
    except ImportError:  # Airflow 3.1 / 3.2
        from airflow.stats import Stats
    return Stats


class StatsSink:
    """An ``EventSink`` turning LLM calls and errors into metrics; ``outcome()`` adds per-run metrics."""

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats or stats_backend()

    def emit(self, event: dict[str, Any]) -> None:
        try:
            self._emit(event)
        except Exception as exc:  # metrics must never break a run
            log.warning("AiMod metrics for event %s were not sent: %s", event.get("event_id"), exc)

    def outcome(self, outcome: Outcome) -> None:
        """Per-run metrics: ``.status.<status>`` and ``.latency``."""
        agent, tags = _name(outcome.agent), {"agent": outcome.agent}
        self.stats.incr(f"{PREFIX}.{agent}.status.{_name(outcome.status)}", tags=tags)
        self.stats.timing(f"{PREFIX}.{agent}.latency", (outcome.ended_at - outcome.started_at) * 1000, tags=tags)

    def _emit(self, event: dict[str, Any]) -> None:
        agent, data, tags = _name(event["agent"]), event.get("data") or {}, {"agent": event["agent"]}
        if event["kind"] == "llm_call":
            tokens_in, tokens_out = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
            self.stats.incr(f"{PREFIX}.{agent}.llm_calls", tags=tags)
            self.stats.incr(f"{PREFIX}.{agent}.llm_tokens", tokens_in + tokens_out, tags=tags)
            self.stats.incr(f"{PREFIX}.{agent}.llm_tokens_in", tokens_in, tags=tags)
            self.stats.incr(f"{PREFIX}.{agent}.llm_tokens_out", tokens_out, tags=tags)
            if data.get("latency_ms") is not None:
                self.stats.timing(f"{PREFIX}.{agent}.llm_latency", float(data["latency_ms"]), tags=tags)
        elif event["kind"] == "error":
            self.stats.incr(f"{PREFIX}.{agent}.errors", tags=tags)
            if data.get("error_type") == "AgentTimeout":
                self.stats.incr(f"{PREFIX}.{agent}.timeouts", tags=tags)


def _name(part: str) -> str:
    """A metric-name-safe segment (letters, digits, ``_`` and ``-``)."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in str(part)) or "unknown"
