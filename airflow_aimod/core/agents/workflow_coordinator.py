"""Tier 1 workflow coordinator: turn a multi-step request into a bounded plan of agent steps.

Graph: ``plan`` (one LLM call: clauses → agents, with confidences) → ``review`` (the plan policy
decides: ``run``, ``unsupported``, or ``human_review`` — then the whole plan is shown once on
Required Actions, and an edited plan is checked again) → end. A plan that may run reserves its
whole token budget in the DAG run's ledger first (``CoordinatorTools.reserve``); a run with too
little left sends the plan to a person, and an approved plan that still does not fit is refused.
The coordinator never touches data and runs nothing itself: the plan goes to XCom, and the steps run
as Airflow tasks (``operators.plan_step.PlanStepOperator``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.approval import ApprovalRequest, EditableField, request_body
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.planning import HUMAN_REVIEW, RUN, UNSUPPORTED, PlanCheck, PlanPolicy, parse_steps
from airflow_aimod.core.prompts import plan_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.exceptions import BudgetExceeded, ConfigurationError


class CoordinatorTools:
    """What the coordinator plans with: the policy, the agents a step may name, the warehouse's words, and
    ``reserve(tokens)``, which holds the plan's tokens in the run's ledger or raises ``BudgetExceeded``."""

    def __init__(self, policy: PlanPolicy, *, agents: Sequence[Mapping[str, Any]], schema: Sequence[str] = (),
                 reserve: Callable[[int], None] | None = None) -> None:
        self.policy, self.agents, self.schema, self.reserve = policy, list(agents), list(schema), reserve


def build_graph(runtime: AgentRuntime, tools: CoordinatorTools) -> StateGraph:
    """The workflow coordinator graph, uncompiled."""
    nodes = _CoordinatorNodes(runtime, tools)
    builder = StateGraph(AgentState)
    builder.add_node("plan", nodes.plan)
    builder.add_node("review", nodes.review)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", unless_done("review"))
    builder.add_edge("review", END)
    return builder


def approval_request(state: AgentState, check: PlanCheck) -> ApprovalRequest:
    """The whole plan, shown once: approve it, reject it, or edit its steps (checked again)."""
    rows = ["| id | agent | request | depends on | confidence | note |", "|---|---|---|---|---|---|"]
    rows += [f"| {s.id} | {s.agent or '—'} | {_cell(s.request)} | {', '.join(s.depends_on) or '—'} | "
             f"{s.confidence:.2f} | {_cell(s.note) or 'ok'} |" for s in check.steps]
    plan = json.dumps([{k: v for k, v in s.to_dict().items() if k in ("id", "agent", "request", "depends_on",
                                                                        "token_budget")}
                       for s in check.steps], indent=1)
    editable = (EditableField("plan", plan, "the steps as JSON: [{id, agent, request, depends_on, token_budget}]"),)
    trace = state.get("trace_id")
    body = request_body(reasons=check.reasons or ("the plan needs a person",), question=state.get("request"),
                        sections=["**Plan:**", "", *rows, ""], trace_id=trace, editable=editable,
                        rationale=f"{len(check.steps)} step(s); nothing runs until the plan is approved")
    return ApprovalRequest(agent="workflow_coordinator", action="handoff", action_id=f"plan-{trace}",
                           subject=f"Approve a {len(check.steps)}-step plan: {state.get('request', '')[:120]}",
                           body=body, reasons=check.reasons, trace_id=trace, editable=editable)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")[:160]


class _CoordinatorNodes:
    def __init__(self, runtime: AgentRuntime, tools: CoordinatorTools) -> None:
        self.rt, self.tools = runtime, tools

    def plan(self, state: AgentState) -> dict[str, Any]:
        request = state.get("request", "").strip()
        if not request:
            return self._end("plan", Status.REFUSED, PlanCheck(UNSUPPORTED, (), ("the request is empty",)))
        policy = self.tools.policy
        try:
            reply = self.rt.ask_json(state, plan_messages(request, self.tools.agents, max_steps=policy.max_steps,
                                                          schema=self.tools.schema), required=("steps",))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("plan", exc)
        try:
            check = policy.check(parse_steps(reply.data.get("steps"), max_items=policy.max_steps * 4))
        except ConfigurationError as exc:  # a plan the model could not make: a person makes it
            check = PlanCheck(HUMAN_REVIEW, (), (f"no usable plan: {exc}",))
        try:
            for step in check.steps:  # the coordinator hands each runnable step to its agent
                if step.agent and step.status != "unsupported":
                    self.rt.validator.enforce(Action("handoff", target=step.agent))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("plan", exc, events=reply.events)
        return self.rt.update("plan", events=reply.events, token_usage=reply.usage,
                              work={"check": check.to_dict(), "reasons": list(check.reasons),
                                    "rationale": str(reply.data.get("rationale", ""))[:500]})

    def review(self, state: AgentState) -> dict[str, Any]:
        check = _check_of(state["work"]["check"], state["work"]["reasons"])
        if check.decision == RUN:
            short = self._hold(check)
            if short is None:
                return self._end("review", Status.ANSWERED, check)
            check = PlanCheck(HUMAN_REVIEW, check.steps, (*check.reasons, short))
        if check.decision == UNSUPPORTED:
            return self._end("review", Status.REFUSED, check)
        request = approval_request(state, check)
        decision = self.rt.ask_person(request)
        decided = self.rt.decided(decision, request.action_id)
        if not decision.approved:
            return self._end("review", Status.REFUSED, check, f"{decision.who()} rejected the plan", decided)
        policy = self.tools.policy
        try:
            steps = parse_steps(decision.edits["plan"], max_items=policy.max_steps) if "plan" in decision.edits \
                else check.steps
        except ConfigurationError as exc:
            return self._end("review", Status.REFUSED, check, f"the edited plan is not valid: {exc}", decided)
        again = policy.check(list(steps), reviewed=True)
        if again.decision != RUN:
            return self._end("review", Status.REFUSED, again, f"the approved plan still fails: {again.reason}", decided)
        if (short := self._hold(again)) is not None:
            return self._end("review", Status.REFUSED, again, f"the approved plan cannot run: {short}", decided)
        return self._end("review", Status.ANSWERED, again, f"{decision.who()} approved the plan", decided,
                         reviewed_by=decision.who())

    def _hold(self, check: PlanCheck) -> str | None:
        """Reserve the plan's tokens in the run's ledger; None when held, else why not."""
        if self.tools.reserve is None:
            return None
        try:
            self.tools.reserve(check.total_tokens)
        except BudgetExceeded as exc:
            return str(exc)
        return None

    def _end(self, node: str, status: Status, check: PlanCheck, reason: str | None = None,
             decided: Mapping[str, Any] | None = None, reviewed_by: str | None = None) -> dict[str, Any]:
        decision = check.decision if status == Status.ANSWERED or check.decision == UNSUPPORTED else "refused"
        held = status == Status.ANSWERED and check.decision == RUN and self.tools.reserve is not None
        result = {**check.to_dict(), "decision": decision, "reason": reason or check.reason,
                  "token_budget": self.tools.policy.token_budget, "reviewed_by": reviewed_by,
                  "reserved_tokens": check.total_tokens if held else 0}
        decided = dict(decided or {})
        confidence = min((s.confidence for s in check.steps), default=0.0)
        return self.rt.finish(node, status, result["reason"], events=decided.pop("events", ()), result=result,
                              confidence=confidence, **decided)


def _check_of(data: Mapping[str, Any], reasons: Sequence[str]) -> PlanCheck:
    """The policy's verdict back from the checkpointed state."""
    from airflow_aimod.core.planning import Step

    steps = tuple(Step(**{k: (tuple(v) if k == "depends_on" else v) for k, v in s.items() if k != "inputs_from"})
                  for s in data["steps"])
    return PlanCheck(data["decision"], steps, tuple(reasons))
