"""Map an agent's failure to its final status, per the registry's error strategy."""

from __future__ import annotations

from airflow_aimod.core.registry import AgentSpec
from airflow_aimod.core.state import Status
from airflow_aimod.exceptions import AgentTimeout, BudgetExceeded, LoopDetected, PermissionDenied


def status_for_error(exc: Exception, spec: AgentSpec) -> tuple[Status, str, str | None]:
    """(status, reason for a person, who takes over: an agent name, "human", or None)."""
    strategy = spec.error_strategy
    if isinstance(exc, BudgetExceeded):
        return Status.BUDGET_EXCEEDED, str(exc), "human"
    if isinstance(exc, PermissionDenied):
        return Status.ESCALATED, f"blocked by the permission envelope: {exc}", "human"
    if isinstance(exc, LoopDetected):
        return Status.ESCALATED, str(exc), "human"
    if isinstance(exc, AgentTimeout):
        target = strategy.fallback_agent if strategy.on_timeout == "fallback" else "human"
        return Status.ESCALATED, f"{exc}; handed to {target}", target
    target = "human" if strategy.on_error == "human" else None
    status = Status.ESCALATED if target else Status.FAILED
    return status, f"{type(exc).__name__}: {exc}", target
