"""Row shapes of the store: an event flattened for indexing, and one agent run's ``Outcome``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PENDING_STATUSES = frozenset({"running", "needs_approval"})
HUMAN_STATUSES = frozenset({"needs_approval", "escalated"})
SUCCESS_STATUSES = frozenset({"answered", "refused", "rejected"})
"""An agent succeeded when it answered, abstained with a reason, or a person rejected its action."""

EVENT_COLUMNS = ("event_id", "trace_id", "agent", "kind", "name", "ts", "dag_id", "run_id", "task_id",
                 "model", "input_tokens", "output_tokens", "latency_ms", "detail", "data")


def event_row(event: Mapping[str, Any], scope: Mapping[str, str | None]) -> tuple[Any, ...]:
    """Flatten a tracing event (plus its dag/run/task scope) into an ``aimod_events`` row."""
    missing = [key for key in ("event_id", "trace_id", "agent", "kind", "name", "ts") if not event.get(key)]
    if missing:
        raise ValueError(f"event lacks {missing}: build events with airflow_aimod.core.tracing.Tracer")
    data = dict(event.get("data") or {})
    detail = data.get("error_type") or data.get("status") or data.get("outcome") or data.get("decision")
    return (str(event["event_id"]), str(event["trace_id"]), str(event["agent"]), str(event["kind"]),
            str(event["name"]), float(event["ts"]), scope.get("dag_id"), scope.get("run_id"),
            scope.get("task_id"), _str(data.get("model")), _int(data.get("input_tokens")),
            _int(data.get("output_tokens")), _float(data.get("latency_ms")), _str(detail),
            json.dumps(data, sort_keys=True, default=str))


@dataclass(frozen=True)
class Outcome:
    """One agent run: who, where, how it ended, what it cost. ``task_id`` is '' outside Airflow."""

    trace_id: str
    agent: str
    status: str
    started_at: float
    ended_at: float
    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    reason: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    needed_human: bool = False
    cost: float = 0.0
    request: str = ""
    map_index: int = -1  # the mapped task instance (-1: not mapped)

    def __post_init__(self) -> None:
        if not self.trace_id or not self.agent or not self.status:
            raise ValueError("an outcome needs trace_id, agent and status (take them from the run's outcome dict)")
        if self.ended_at < self.started_at:
            raise ValueError(f"outcome ends ({self.ended_at}) before it starts ({self.started_at}): pass epoch seconds")

    @classmethod
    def from_run(cls, out: Mapping[str, Any], *, started_at: float, ended_at: float, **scope: Any) -> Outcome:
        """Build from ``core.state.outcome(state)``; ``needed_human`` from a pause or a recorded approval."""
        usage = out.get("token_usage") or {}
        human = bool(out.get("approvals") or out.get("pending_approval")) or out.get("status") in HUMAN_STATUSES
        return cls(trace_id=str(out.get("trace_id") or ""), agent=str(out.get("agent") or ""),
                   status=str(out.get("status") or ""), reason=str(out.get("reason") or "")[:500],
                   started_at=started_at, ended_at=ended_at, input_tokens=int(usage.get("input_tokens", 0)),
                   output_tokens=int(usage.get("output_tokens", 0)), llm_calls=int(usage.get("llm_calls", 0)),
                   needed_human=human or bool(scope.pop("needed_human", False)), **scope)

    def row(self) -> dict[str, Any]:
        """Column values for ``aimod_outcomes`` (booleans as 0/1 so both dialects aggregate them alike)."""
        values = asdict(self)
        values["needed_human"] = int(self.needed_human)
        return values


def _str(value: Any) -> str | None:
    return None if value is None else str(value)[:200]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
