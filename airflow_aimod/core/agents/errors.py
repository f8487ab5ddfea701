"""Map an agent's failure to its final status, per the registry's error strategy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.registry import AgentSpec
from airflow_aimod.core.state import Status
from airflow_aimod.exceptions import (
    AgentTimeout, BudgetExceeded, LLMBackendError, LoopDetected, PermissionDenied, QueryExecutionError,
)


@dataclass(frozen=True)
class ErrorVerdict:
    """How a failed run ends: its status, the reason a person can act on, who takes over, and whether
    running the task again may help (``retryable``: a timeout, a 5xx, a dropped connection — not a spent
    budget, a denied action or a bad configuration, which would fail the same way)."""

    status: Status
    reason: str
    escalate_to: str | None
    retryable: bool
    error_type: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.error_type, "retryable": self.retryable, "escalate_to": self.escalate_to}


def status_for_error(exc: Exception, spec: AgentSpec) -> ErrorVerdict:
    """The verdict for ``exc`` (already unwrapped from ``StepFailed``)."""
    strategy, kind = spec.error_strategy, type(exc).__name__
    if isinstance(exc, BudgetExceeded):
        return ErrorVerdict(Status.BUDGET_EXCEEDED, str(exc), "human", False, kind)
    if isinstance(exc, PermissionDenied):
        return ErrorVerdict(Status.ESCALATED, f"blocked by the permission envelope: {exc}", "human", False, kind)
    if isinstance(exc, LoopDetected):
        return ErrorVerdict(Status.ESCALATED, str(exc), "human", False, kind)
    if isinstance(exc, AgentTimeout):
        target = _handler_target(strategy.on_timeout, strategy.fallback_agent)
        reason = f"{exc}; handed to {target}" if target else str(exc)
        return ErrorVerdict(Status.ESCALATED if target else Status.FAILED, reason, target, True, kind)
    retryable = isinstance(exc, (LLMBackendError, QueryExecutionError)) and exc.transient
    target = _handler_target(strategy.on_error, strategy.fallback_agent)
    return ErrorVerdict(Status.ESCALATED if target else Status.FAILED, f"{kind}: {exc}", target, retryable, kind)


def _handler_target(handler: str, fallback_agent: str | None) -> str | None:
    """Who takes over for an error handler of the registry: the fallback agent, a person, or nobody."""
    return {"fallback": fallback_agent, "human": "human"}.get(handler)
