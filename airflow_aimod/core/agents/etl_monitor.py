"""Tier 2 ETL monitor: find failed tasks, diagnose them from their logs, clear the retryable ones.

Graph: ``scan`` (failed runs of the watched DAGs in the window, their failed task instances)
→ ``read_logs`` (the failed try's log) → ``diagnose`` (``core.diagnosis``: declared patterns,
retry budget counted from Airflow's ``try_number``) → ``explain`` (one LLM call: explain and
pick clears among the candidates) → ``approval`` (one ``ask_person`` for all proposed clears)
→ ``clear`` → ``report`` → end. Every Airflow call is an ``airflow.read`` or ``airflow.clear_task``
action checked against the envelope; whatever the model proposes beyond clearing a candidate
(pausing a DAG, clearing a permanent failure) is blocked and reported, never run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.approval import ApprovalRequest, request_body
from airflow_aimod.core.diagnosis import TRANSIENT, RetryBudget, diagnose
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import etl_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.exceptions import StepFailed

MAX_FAILURES = 20
LOG_TAIL = 120  # log records kept per failure (the error is at the end)
CLEAR = "airflow.clear_task"


class EtlMonitorTools:
    """What the monitor watches and how it reaches Airflow (an ``AirflowApiClient``)."""

    def __init__(self, client: Any, *, dag_ids: Sequence[str], lookback: timedelta, allow_clear: bool = False,
                 max_failures: int = MAX_FAILURES, now: Callable[[], datetime] | None = None) -> None:
        if not dag_ids:
            raise ValueError("give at least one DAG id to watch")
        self.client, self.dag_ids, self.lookback = client, list(dag_ids), lookback
        self.allow_clear, self.max_failures = allow_clear, max_failures
        self.now = now or (lambda: datetime.now(timezone.utc))


def build_graph(runtime: AgentRuntime, tools: EtlMonitorTools) -> StateGraph:
    """The ETL monitor graph, uncompiled."""
    nodes = _EtlNodes(runtime, tools)
    builder = StateGraph(AgentState)
    for name in ("scan", "read_logs", "diagnose", "explain", "approval", "clear", "report"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "scan")
    builder.add_conditional_edges("scan", unless_done("read_logs"))
    builder.add_conditional_edges("read_logs", unless_done("diagnose"))
    builder.add_conditional_edges("diagnose", unless_done("explain"))
    builder.add_conditional_edges("explain", _after_explain)
    builder.add_conditional_edges("approval", unless_done("clear"))
    builder.add_edge("clear", "report")
    builder.add_edge("report", END)
    return builder


def _after_explain(state: AgentState) -> str:
    if state.get("status") != Status.RUNNING.value:
        return END
    work = state.get("work") or {}
    if not work.get("clears"):
        return "report"
    return "approval" if work.get("clears_need_approval") else "clear"


class _EtlNodes:
    def __init__(self, runtime: AgentRuntime, tools: EtlMonitorTools) -> None:
        self.rt, self.tools = runtime, tools

    def _read(self, target: str, what: str, fn: Callable[[], Any], events: list[dict[str, Any]]) -> Any:
        out = self.rt.tool(Action("airflow.read", target=target, params={"what": what}), fn)
        events.extend(out.events)
        return out.value

    def scan(self, state: AgentState) -> dict[str, Any]:
        since = self.tools.now() - self.tools.lookback
        events: list[dict[str, Any]] = []
        try:
            failures = self._scan(since, events)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("scan", exc, events=events)
        window = {"since": since.isoformat(), "dag_ids": self.tools.dag_ids}
        if not failures:
            reason = f"no failures in {', '.join(self.tools.dag_ids)} since {since.isoformat(timespec='seconds')}"
            return self.rt.finish("scan", Status.ANSWERED, reason, events=events, confidence=1.0,
                                  result={"window": window, "failures": [], "blocked": [], "explanation": reason})
        return self.rt.update("scan", events=events, work={"window": window, "failures": failures})

    def _scan(self, since: datetime, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        client, found = self.tools.client, []
        for dag_id in self.tools.dag_ids:
            runs = self._read(dag_id, "failed dag runs",
                              lambda d=dag_id: client.failed_dag_runs(d, since=since), events)
            for run in runs:
                run_id = run["dag_run_id"]
                tis = self._read(f"{dag_id}/{run_id}", "failed task instances",
                                 lambda d=dag_id, r=run_id: client.task_instances(d, r, state="failed"), events)
                found.extend(_failure(f"f{len(found) + i + 1}", ti) for i, ti in enumerate(tis))
                if len(found) >= self.tools.max_failures:
                    return found[: self.tools.max_failures]
        return found

    def read_logs(self, state: AgentState) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        logs: dict[str, list[Any]] = {}
        client = self.tools.client
        try:
            for f in state["work"]["failures"]:
                fetch = lambda f=f: client.task_log(f["dag_id"], f["run_id"], f["task_id"],  # noqa: E731
                                                    f["try_number"], f["map_index"])
                logs[f["id"]] = self._read(_target(f), f"log of try {f['try_number']}", fetch, events)[-LOG_TAIL:]
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("read_logs", exc, events=events)
        return self.rt.update("read_logs", events=events, work={"logs": logs})

    def diagnose(self, state: AgentState) -> dict[str, Any]:
        work, max_retries = state["work"], self.rt.envelope.max_auto_retries
        diagnosed = []
        for f in work["failures"]:
            diagnosis = diagnose(work["logs"].get(f["id"]) or [])
            budget = RetryBudget(max_retries, f["try_number"])
            blocked = _clear_blocker(diagnosis.classification, budget, self.tools.allow_clear)
            diagnosed.append({**f, **diagnosis.to_dict(), "retries_used": budget.used,
                              "retries_left": budget.remaining, "clear_candidate": blocked is None,
                              "blocked_reason": blocked})
        return self.rt.update("diagnose", work={"failures": diagnosed, "logs": {}})

    def explain(self, state: AgentState) -> dict[str, Any]:
        failures = state["work"]["failures"]
        messages = etl_messages(state["request"], failures, allow_clear=self.tools.allow_clear)
        try:
            reply = self.rt.ask_json(state, messages)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        actions = reply.data.get("actions")
        clears, blocked, events = self._vet(actions if isinstance(actions, list) else [], failures)
        explanation = str(reply.data.get("summary") or "")[:2000]
        needs = any(c["requires_approval"] for c in clears)
        proposals = [{"id": f"clear-{c['failure_id']}", "kind": CLEAR, **c} for c in clears]
        return self.rt.update("explain", events=[*reply.events, *events], token_usage=reply.usage,
                              confidence=reply.confidence, rationale=explanation,
                              proposed_actions=proposals,
                              work={"clears": clears, "blocked": blocked, "clears_need_approval": needs,
                                    "explanation": explanation})

    def _vet(self, actions: list[Any], failures: list[dict[str, Any]]) -> tuple[list, list, list]:
        """Check each action the model proposed: the envelope first, then that it clears a candidate once."""
        by_id = {f["id"]: f for f in failures}
        clears: list[dict[str, Any]] = []
        blocked: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for proposal in actions:
            proposal = proposal if isinstance(proposal, dict) else {"kind": str(proposal)}
            failure = by_id.get(str(proposal.get("failure_id")))
            target = _target(failure) if failure else str(proposal.get("dag_id") or proposal.get("target") or "")
            verdict, event = self.rt.check(Action(str(proposal.get("kind")), target=target))
            events.append(event)
            problem = "; ".join(verdict.reasons) if not verdict.allowed else _clear_problem(proposal, failure, clears)
            if problem:
                blocked.append({"action": {k: proposal.get(k) for k in ("kind", "failure_id", "dag_id", "target")},
                                "reason": problem})
                continue
            clears.append({"failure_id": failure["id"], "dag_id": failure["dag_id"], "run_id": failure["run_id"],
                           "task_id": failure["task_id"], "map_index": failure["map_index"],
                           "try_number": failure["try_number"], "classification": failure["classification"],
                           "evidence": failure["evidence"][:2], "retries_left": failure["retries_left"],
                           "requires_approval": verdict.requires_approval,
                           "reason": str(proposal.get("reason") or "")[:300]})
        return clears, blocked, events

    def approval(self, state: AgentState) -> dict[str, Any]:
        """One question for every proposed clear: approve clears them all, reject clears none."""
        work = state["work"]
        request = approval_request(state, self.rt.spec.name)
        decision = self.rt.ask_person(request)
        decided = self.rt.decided(decision, request.action_id)
        if decision.approved:
            return self.rt.update("approval", **decided, work={"approved": True})
        rejected = {c["failure_id"]: f"clear rejected by {decision.who()}" for c in work["clears"]}
        return self.rt.finish("approval", Status.REJECTED, f"clearing was rejected by {decision.who()}",
                              **decided, result=_result(work, _with_actions(work["failures"], rejected)))

    def clear(self, state: AgentState) -> dict[str, Any]:
        work, events, taken = state["work"], [], {}
        for c in work["clears"]:
            try:
                taken[c["failure_id"]] = self._clear_one(c, bool(work.get("approved")), state, events)
            except Exception as exc:
                if not is_expected_failure(exc):
                    raise
                events.extend(exc.events if isinstance(exc, StepFailed) else [])
                taken[c["failure_id"]] = f"clear failed: {exc}"[:300]
        return self.rt.update("clear", events=events, work={"taken": taken})

    def _clear_one(self, c: dict[str, Any], approved: bool, state: AgentState, events: list) -> str:
        """Re-read the task instance (the answer may come hours later), then clear it if it is still as diagnosed."""
        client = self.tools.client
        now = self._read(_target(c), "task instance before clearing",
                         lambda: client.task_instance(c["dag_id"], c["run_id"], c["task_id"], c["map_index"]), events)
        if now.get("state") != "failed" or int(now.get("try_number") or 0) != c["try_number"]:
            return f"not cleared: it changed since the diagnosis (now {now.get('state')}, try {now.get('try_number')})"
        evidence = c["evidence"][0] if c["evidence"] else ""
        note = f"cleared by aimod etl_monitor (trace {state.get('trace_id')}): {evidence}"
        action = Action(CLEAR, target=_target(c), params={"try_number": c["try_number"]})
        out = self.rt.tool(action, lambda: client.clear_failed_task(c["dag_id"], c["run_id"], c["task_id"],
                                                                    map_index=c["map_index"], note=note,
                                                                    approved=approved), approved=approved)
        events.extend(out.events)
        return f"cleared for try {c['try_number'] + 1}" if out.value else "not cleared: Airflow cleared nothing"

    def report(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        failures = _with_actions(work["failures"], work.get("taken") or {})
        waiting = [f for f in failures if not f["action"].startswith("cleared")]
        cleared = len(failures) - len(waiting)
        result = _result(work, failures)
        if not waiting:
            return self.rt.finish("report", Status.ANSWERED, f"{cleared} failed task(s) cleared for a retry",
                                  result=result)
        names = "; ".join(f"{_target(f)}: {f['action']}" for f in waiting[:5])
        return self.rt.finish("report", Status.ESCALATED, f"{cleared} cleared, {len(waiting)} need a person — {names}",
                              result=result, work={"escalate_to": "human"})


def approval_request(state: AgentState, agent: str) -> ApprovalRequest:
    """The clears proposed for a retry, each with its evidence, as one request."""
    clears = state["work"]["clears"]
    reasons = (f"{CLEAR} (restart a failed task) is high-impact and needs a person's approval",)
    lines = ["**Proposed clears (each task runs again):**", ""]
    for c in clears:
        evidence = "; ".join(c.get("evidence") or []) or "no evidence"
        lines.append(f"- `{c['dag_id']}` run `{c['run_id']}` task `{c['task_id']}`: try {c['try_number']} failed, "
                     f"{c['classification']} — {evidence} (uses 1 of the {c['retries_left']} automatic retries left)")
    body = request_body(reasons=reasons, question=state.get("request"), sections=[*lines, ""],
                        confidence=state.get("confidence"), rationale=state.get("rationale"),
                        trace_id=state.get("trace_id"))
    return ApprovalRequest(agent=agent, action=CLEAR, action_id="clear-" + "+".join(c["failure_id"] for c in clears),
                           subject=f"{agent}: approve clearing {len(clears)} failed task(s) for a retry?",
                           body=body, reasons=reasons, trace_id=state.get("trace_id"))


def _failure(failure_id: str, ti: dict[str, Any]) -> dict[str, Any]:
    """A failed task instance as the API lists it, in the monitor's own terms."""
    map_index = ti.get("map_index")
    return {"id": failure_id, "dag_id": ti["dag_id"], "run_id": ti.get("dag_run_id") or ti.get("run_id"),
            "task_id": ti["task_id"], "map_index": int(map_index) if map_index is not None else -1,
            "try_number": max(int(ti.get("try_number") or 1), 1), "end_date": ti.get("end_date")}


def _target(f: dict[str, Any]) -> str:
    suffix = f"[{f['map_index']}]" if f.get("map_index", -1) >= 0 else ""
    return f"{f['dag_id']}/{f['run_id']}/{f['task_id']}{suffix}"


def _clear_blocker(classification: str, budget: RetryBudget, allow_clear: bool) -> str | None:
    """Why this failure may not be cleared automatically, or ``None`` when it may."""
    if classification != TRANSIENT:
        return f"{classification} failure: a retry would not help" if classification == "permanent" else \
            "unclassified failure: a person decides"
    if not budget.allows_clear:
        return f"retry budget spent: {budget.used} of {budget.max_auto_retries} automatic retries used"
    if not allow_clear:
        return "clearing is off for this monitor (allow_clear=False)"
    return None


def _clear_problem(proposal: dict[str, Any], failure: dict[str, Any] | None, clears: list[dict[str, Any]]) -> str:
    if proposal.get("kind") != CLEAR:
        return f"the monitor only carries out {CLEAR}; {proposal.get('kind')} is not one of its actions"
    if failure is None:
        return f"no failure {proposal.get('failure_id')!r} in this scan"
    if not failure["clear_candidate"]:
        return f"not cleared: {failure['blocked_reason']}"
    if any(c["failure_id"] == failure["id"] for c in clears):
        return "proposed twice; cleared at most once per scan"
    return ""


def _with_actions(failures: list[dict[str, Any]], taken: dict[str, str]) -> list[dict[str, Any]]:
    """Each failure with the action taken on it, in words."""
    out = []
    for f in failures:
        default = "escalated: " + (f.get("blocked_reason") or "the model proposed no clear")
        out.append({k: v for k, v in {**f, "action": taken.get(f["id"], default)}.items() if k != "end_date"})
    return out


def _result(work: dict[str, Any], failures: list[dict[str, Any]]) -> dict[str, Any]:
    return {"window": work["window"], "failures": failures, "blocked": work.get("blocked") or [],
            "explanation": work.get("explanation", "")}
