"""What every agent graph is given: its spec, envelope, model, tracer and validator.

Graph nodes never call a tool directly: ``AgentRuntime.tool`` validates the action
against the envelope first, times it, and returns the tool's value together with the
``tool_call`` event. Nodes return state updates built with ``update``/``finish`` so
every state change carries its transition event. ``ask_json`` builds the call's
``BudgetGuard`` from the envelope's limits, what this run and the task's earlier Airflow
tries spent (``prior_usage``), and the DAG run's shared ledger when there is one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.budget import BudgetGuard, BudgetLimits, SharedLedger
from airflow_aimod.core.approval import ApprovalDecision, ApprovalRequest
from airflow_aimod.core.llm.caller import LLMCaller, LLMReply, RetryPolicy
from airflow_aimod.core.permissions import Action, Envelope, PermissionValidator, Verdict
from airflow_aimod.core.prompts import Prompt
from airflow_aimod.core.registry import AgentSpec
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.core.tracing import Tracer
from airflow_aimod.exceptions import AimodError, ConfigurationError, PermissionDenied, StepFailed


@dataclass
class ToolOutcome:
    """A tool's return value plus the events (guard verdict, tool call) it produced."""

    value: Any
    verdict: Verdict
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AgentRuntime:
    """Everything an agent graph needs at run time; rebuilt identically when a run resumes."""

    spec: AgentSpec
    envelope: Envelope
    llm: Any
    tracer: Tracer
    dialect: str = "sqlite"
    max_output_tokens: int = 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: SharedLedger | None = None  # the DAG run's shared budget
    prior_usage: Mapping[str, int] = field(default_factory=dict)  # task type -> tokens of earlier tries
    deadline: float | None = None  # a ``now()`` value no LLM call may pass
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.monotonic

    @property
    def validator(self) -> PermissionValidator:
        return PermissionValidator(self.envelope, dialect=self.dialect)

    def ask_json(self, state: AgentState, prompt: Prompt, required: Sequence[str] = ()) -> LLMReply:
        """An LLM call inside the envelope and the token budgets (the llm.call action is checked too).

        ``prompt.task`` must be one of the task types the agent declares in the registry.
        """
        if prompt.task not in self.spec.task_types:
            raise ConfigurationError(f"agent {self.spec.name!r} made an LLM call of task type {prompt.task!r}, which "
                                     f"its registry entry does not declare ({list(self.spec.task_types)}); add it")
        self.validator.enforce(Action("llm.call", target="chat", params={"task": prompt.task}))
        caller = LLMCaller(self.llm, tracer=self.tracer, timeout_s=self.spec.call_timeout_s,
                           max_output_tokens=self.max_output_tokens, retry=self.retry, guard=self.budget_guard(state),
                           deadline=self.deadline, sleep=self.sleep, now=self.now)
        return caller.ask_json(list(prompt.messages), required=required, task=prompt.task)

    def ask_person(self, request: ApprovalRequest) -> ApprovalDecision:
        """Pause the run for a person (LangGraph ``interrupt``) and return their decision once resumed.

        The node that calls this runs again from its start on resume, so nothing before the call may
        have side effects; everything after it runs once.
        """
        from langgraph.types import interrupt

        return ApprovalDecision.of(interrupt(request.to_payload()))

    def decided(self, decision: ApprovalDecision, action_id: str) -> dict[str, Any]:
        """The state changes recording ``decision`` on ``action_id``: its ``approval`` event and record."""
        event = self.tracer.event("approval", action_id, decision=decision.decision, reviewer=decision.reviewer)
        return {"events": [event], "approvals": [decision.record(action_id)]}

    def budget_guard(self, state: AgentState) -> BudgetGuard:
        """The budgets of the next call: this run's usage plus the earlier tries', per task type too."""
        by_task = dict(self.prior_usage)
        for event in state.get("events") or ():
            data = event.get("data") or {}
            if event.get("kind") == "llm_call" and data.get("task"):
                tokens = int(data.get("input_tokens") or 0) + int(data.get("output_tokens") or 0)
                by_task[data["task"]] = by_task.get(data["task"], 0) + tokens
        used = int((state.get("token_usage") or {}).get("total_tokens", 0)) + sum(self.prior_usage.values())
        return BudgetGuard(BudgetLimits.of(self.envelope.token_budget), used_total=used, used_by_task=by_task,
                           ledger=self.ledger)

    def check(self, action: Action) -> tuple[Verdict, dict[str, Any]]:
        """The validation layer's verdict on ``action`` and its ``guard`` event."""
        started = time.perf_counter()  # a measurement, not the injected clock deadlines run on
        verdict = self.validator.check(action)
        event = self.tracer.event("guard", action.kind, allowed=verdict.allowed,
                                  requires_approval=verdict.requires_approval, reasons=list(verdict.reasons),
                                  latency_ms=round((time.perf_counter() - started) * 1000, 2))
        return verdict, event

    def tool(self, action: Action, fn: Callable[[], Any], *, approved: bool = False) -> ToolOutcome:
        """Validate ``action``, then run ``fn``; raises ``PermissionDenied`` before ``fn`` when not allowed.

        An expected failure of ``fn`` (an ``AimodError``) is raised as ``StepFailed`` carrying the guard and
        tool-call events; anything else is a bug and propagates unchanged.
        """
        verdict, guard_event = self.check(action)
        if not verdict.allowed:
            raise PermissionDenied("; ".join(verdict.reasons))
        if verdict.requires_approval and not approved:
            raise PermissionDenied(f"{action.kind} needs a person's approval before it runs")
        started = time.monotonic()
        try:
            value = fn()
        except AimodError as exc:
            failed = self.tracer.tool_call(action.kind, args=action.to_dict(), outcome="error",
                                           latency_ms=(time.monotonic() - started) * 1000, error=str(exc)[:300])
            raise StepFailed(exc, events=[guard_event, failed]) from exc
        read = {"tables": list(verdict.details.get("tables") or ())} if action.kind == "sql.read" else {}
        call_event = self.tracer.tool_call(action.kind, args=action.to_dict(), outcome="ok",
                                           latency_ms=(time.monotonic() - started) * 1000, **read)
        return ToolOutcome(value, verdict, [guard_event, call_event])

    def handoff(self, state: AgentState, target: str, reason: str = "") -> dict[str, Any]:
        """A state update handing the request to ``target``: the envelope must allow ``handoff`` and the
        loop guard must accept it (no agent twice in the chain, at most ``max_handoff_depth``)."""
        from airflow_aimod.core.loops import HandoffGuard

        self.validator.enforce(Action("handoff", target=target))
        handoffs = list(state.get("handoffs") or [])
        record = HandoffGuard.from_envelope(self.envelope).check(handoffs, source=self.spec.name, target=target,
                                                                 reason=reason)
        event = self.tracer.event("handoff", self.spec.name, to=target, reason=record["reason"],
                                  depth=len(handoffs) + 1)
        return {"handoffs": [record], "events": [event]}

    def update(self, node: str, *, events: Sequence[dict[str, Any]] = (), **changes: Any) -> dict[str, Any]:
        """A state update from ``node`` that keeps running, with its transition event."""
        transition = self.tracer.transition(node, Status.RUNNING.value)
        return {**changes, "events": [*events, transition]}

    def finish(self, node: str, status: Status, reason: str = "", *, events: Sequence[dict[str, Any]] = (),
               **changes: Any) -> dict[str, Any]:
        """A state update from ``node`` that ends the run with ``status``."""
        transition = self.tracer.transition(node, status.value, reason=reason)
        return {**changes, "status": status.value, "reason": reason, "events": [*events, transition]}

    def fail_safe(self, node: str, exc: Exception, *, events: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """End the run after ``exc`` the way the agent's error strategy says, keeping what was spent."""
        from airflow_aimod.core.agents.errors import status_for_error

        spent = list(exc.events) if isinstance(exc, StepFailed) else []
        usage = {"token_usage": exc.usage} if isinstance(exc, StepFailed) and exc.usage else {}
        cause = exc.cause if isinstance(exc, StepFailed) else exc
        verdict = status_for_error(cause, self.spec)
        error_event = self.tracer.event("error", node, error_type=type(cause).__name__, message=str(cause)[:500],
                                        escalate_to=verdict.escalate_to, retryable=verdict.retryable)
        return self.finish(node, verdict.status, verdict.reason, events=[*events, *spent, error_event],
                           work={"escalate_to": verdict.escalate_to, "error": verdict.to_dict()}, **usage)


def is_expected_failure(exc: Exception) -> bool:
    """Errors an agent turns into a status; anything else is a bug and propagates."""
    return isinstance(exc, AimodError)
