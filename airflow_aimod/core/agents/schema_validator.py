"""Tier 2 schema validator: validate a table or query against an expectation suite with Great Expectations.

Graph: ``check_source`` (the read passes the SQL guard before anything else happens)
→ ``propose`` (only with a profile: candidate expectations from its numbers)
→ ``approval`` (a person decides through ``ask_person`` when proposals need it — action
``gx.update_suite`` — or when the read itself does) → ``validate`` (rows read read-only, at
most ``max_rows``, into a DataFrame; ``gx.validate`` on it) → ``explain`` (one LLM call) → end.
The rows are read after the approval, so no data waits in a checkpoint and the validated data
is current. GX decides what passed; the model only explains it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.edges import unless_done
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.approval import ApprovalRequest, request_body
from airflow_aimod.core.executors.base import looks_like_pii
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import validation_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.core.validation import ExpectationSpec, GxRunner, frame_from_rows, propose_expectations
from airflow_aimod.exceptions import ConfigurationError, PermissionDenied, StepFailed

MAX_FAILURES_IN_PROMPT = 20


class ValidatorTools:
    """What is validated (a read-only executor and a query), against what (the user's suite, a profile)."""

    def __init__(self, executor: Any, *, sql: str, subject: str, expectations: Iterable[ExpectationSpec] = (),
                 profile: Mapping[str, Any] | None = None, max_rows: int = 100_000,
                 pii_columns: Iterable[str] = ()) -> None:
        self.executor, self.sql, self.subject, self.max_rows = executor, sql, subject, max_rows
        self.expectations = tuple(expectations)
        self.profile = dict(profile) if profile is not None else None
        self.pii_columns = set(pii_columns) | {str(c.get("name")) for c in (profile or {}).get("columns") or ()
                                               if isinstance(c, Mapping) and c.get("pii")}

    def withheld(self, columns: Iterable[str]) -> set[str]:
        """Columns whose values are never reported: declared or profiled PII, or PII-like names."""
        return {c for c in columns if c in self.pii_columns or looks_like_pii(c)}


def build_graph(runtime: AgentRuntime, tools: ValidatorTools) -> StateGraph:
    """The schema validator graph, uncompiled."""
    nodes = _ValidatorNodes(runtime, tools)
    builder = StateGraph(AgentState)
    for name in ("check_source", "propose", "approval", "validate", "explain"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "check_source")
    builder.add_conditional_edges("check_source", unless_done("propose" if tools.profile is not None else _gate))
    builder.add_conditional_edges("propose", unless_done(_gate))
    builder.add_conditional_edges("approval", unless_done("validate"))
    builder.add_conditional_edges("validate", unless_done("explain"))
    builder.add_edge("explain", END)
    return builder


def _gate(state: AgentState) -> str:
    return "approval" if (state.get("work") or {}).get("needs_approval") else "validate"


class _ValidatorNodes:
    def __init__(self, runtime: AgentRuntime, tools: ValidatorTools) -> None:
        self.rt, self.tools = runtime, tools

    def check_source(self, state: AgentState) -> dict[str, Any]:
        verdict, event = self.rt.check(Action("sql.read", target=self.rt.dialect, params={"sql": self.tools.sql}))
        if not verdict.allowed:
            return self.rt.fail_safe("check_source", PermissionDenied("; ".join(verdict.reasons)), events=[event])
        work = {"tables": list(verdict.details.get("tables") or []), "read_needs_approval": verdict.requires_approval,
                "read_reasons": list(verdict.reasons) if verdict.requires_approval else [],
                "suite": [{**s.to_dict(), "source": "user"} for s in self.tools.expectations], "proposals": []}
        work["needs_approval"] = verdict.requires_approval
        return self.rt.update("check_source", events=[event], work=work)

    def propose(self, state: AgentState) -> dict[str, Any]:
        found = propose_expectations(self.tools.profile or {}, exclude=self.tools.expectations)
        proposals = [p.to_dict() for p in found]
        if not proposals:
            return self.rt.update("propose", work={"proposals": []})
        action = Action("gx.update_suite", target=self.tools.subject, params={"add": len(proposals)})
        verdict, event = self.rt.check(action)
        if not verdict.allowed:
            note = self.rt.tracer.event("proposals_dropped", self.tools.subject, reasons=list(verdict.reasons))
            return self.rt.update("propose", events=[event, note],
                                  work={"proposals": [], "proposals_decision": "denied"})
        record = {"id": "suite-1", "kind": "gx.update_suite", "expectations": proposals,
                  "requires_approval": verdict.requires_approval, "reasons": list(verdict.reasons)}
        if not verdict.requires_approval:  # the envelope was overridden to trust proposals
            return self._adopt(state, proposals, "propose", [event], decision="auto", approved=False,
                               proposed_actions=[record])
        return self.rt.update("propose", events=[event], proposed_actions=[record],
                              work={"proposals": proposals, "needs_approval": True,
                                    "suite_reasons": list(verdict.reasons)})

    def approval(self, state: AgentState) -> dict[str, Any]:
        """Pause for a person on the proposed expectations (and the read, when it needs approval too)."""
        work = state["work"]
        request = approval_request(state, self.tools.subject, self.rt.spec.name)
        decision = self.rt.ask_person(request)
        decided = self.rt.decided(decision, request.action_id)
        if decision.approved:
            if work.get("proposals"):
                return self._adopt(state, work["proposals"], "approval", decided["events"], decision="approved",
                                   approved=True, work={"read_approved": True}, approvals=decided["approvals"])
            return self.rt.update("approval", **decided, work={"read_approved": True})
        if work.get("read_needs_approval") or not work.get("suite"):
            why = "the read was not approved" if work.get("read_needs_approval") else "no user suite to fall back on"
            return self.rt.finish("approval", Status.REJECTED, f"rejected by {decision.who()}: {why}", **decided,
                                  result={"subject": self.tools.subject, "proposals": work.get("proposals") or [],
                                          "proposals_decision": "rejected"})
        return self.rt.update("approval", **decided, work={"proposals_decision": "rejected"})

    def _adopt(self, state: AgentState, proposals: list[dict], node: str, events: list[dict], *, decision: str,
               approved: bool, work: dict | None = None, **changes: Any) -> dict[str, Any]:
        """Add the proposals to the suite: the ``gx.update_suite`` action, through the envelope."""
        suite = list(state["work"]["suite"])
        added = [{"type": p["type"], "kwargs": p["kwargs"], "source": "proposed"} for p in proposals]
        action = Action("gx.update_suite", target=self.tools.subject, params={"add": len(added)})
        out = self.rt.tool(action, lambda: suite + added, approved=approved)
        work = {**(work or {}), "suite": out.value, "proposals": proposals, "proposals_decision": decision}
        return self.rt.update(node, events=[*events, *out.events], work=work, **changes)

    def validate(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        specs = [ExpectationSpec.of({"type": s["type"], "kwargs": s["kwargs"]}) for s in work["suite"]]
        if not specs:
            return self.rt.finish("validate", Status.REFUSED, "no expectations to validate: give a suite "
                                  "(expectations=...) or a profile to propose one from",
                                  result={"subject": self.tools.subject, "proposals": work.get("proposals") or []})
        read = Action("sql.read", target=self.rt.dialect, params={"sql": self.tools.sql})
        run = lambda: self.tools.executor.run(self.tools.sql, max_rows=self.tools.max_rows,  # noqa: E731
                                              timeout_s=self.rt.spec.call_timeout_s)
        try:
            data = self.rt.tool(read, run, approved=bool(work.get("read_approved")))
            frame = frame_from_rows(data.value.columns, data.value.rows)
            runner = GxRunner(withheld_columns=self.tools.withheld(data.value.columns))
            check = Action("gx.validate", target=self.tools.subject, params={"expectations": len(specs),
                                                                             "rows": data.value.row_count})
            checked = self.rt.tool(check, lambda: runner.validate(frame, specs, suite_name=self.tools.subject))
        except ConfigurationError as exc:  # the query's shape: the user's to fix
            return self.rt.finish("validate", Status.REFUSED, str(exc))
        except StepFailed as exc:
            if isinstance(exc.cause, ConfigurationError):  # an expectation GX refused: the user's to fix
                return self.rt.finish("validate", Status.REFUSED, str(exc.cause), events=exc.events)
            return self.rt.fail_safe("validate", exc)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("validate", exc)
        summary = {**checked.value, "truncated": data.value.truncated, "max_rows": self.tools.max_rows}
        return self.rt.update("validate", events=[*data.events, *checked.events], work={"validation": summary})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        validation = work["validation"]
        shown = {**validation, "results": [], "failures": validation["failures"][:MAX_FAILURES_IN_PROMPT]}
        try:
            reply = self.rt.ask_json(state, validation_messages(state["request"], self.tools.subject, shown))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        reason = _reason(validation)
        explanation = str(reply.data.get("summary") or reason)[:2000]
        confidence = 0.7 if validation["truncated"] else 0.95
        result = {"subject": self.tools.subject, "sql": self.tools.sql, "validation": validation,
                  "suite": work["suite"], "proposals": work.get("proposals") or [],
                  "proposals_decision": work.get("proposals_decision"), "truncated": validation["truncated"],
                  "assessment": _assessment(self.tools.subject, validation, reason, confidence),
                  "explanation": explanation}
        return self.rt.finish("explain", Status.ANSWERED, reason, events=reply.events, token_usage=reply.usage,
                              confidence=confidence, rationale=explanation, result=result)


def approval_request(state: AgentState, subject: str, agent: str) -> ApprovalRequest:
    """The proposed expectations with their evidence (they join the suite only if approved), or the read."""
    work = state["work"]
    proposals = work.get("proposals") or []
    reasons = tuple([*work.get("suite_reasons", []), *work.get("read_reasons", [])])
    lines = [f"**Proposed expectations ({len(proposals)}; approved, they join the suite):**", ""] if proposals else []
    for p in proposals:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in (p.get("kwargs") or {}).items())
        lines.append(f"- `{p.get('type')}({kwargs})` — {p.get('evidence') or 'no evidence'}")
    tables = ", ".join(work.get("tables") or []) or "no table"
    body = request_body(reasons=reasons, question=state.get("request"),
                        sections=[*lines, "", f"**Tables:** {tables}"],
                        confidence=_mean([p["confidence"] for p in proposals]) if proposals else None,
                        rationale="; ".join(p["evidence"] for p in proposals[:8]) or "the read needs approval",
                        trace_id=state.get("trace_id"))
    action, action_id = ("gx.update_suite", "suite-1") if proposals else ("sql.read", "read-1")
    what = f"add {len(proposals)} expectation(s) to the suite of {subject}" if proposals else f"read {tables}"
    return ApprovalRequest(agent=agent, action=action, action_id=action_id, subject=f"{agent}: approve — {what}?",
                           body=body, reasons=reasons, trace_id=state.get("trace_id"))


def _reason(validation: Mapping[str, Any]) -> str:
    scope = f"{validation['rows']} row(s)" + (f", truncated at max_rows={validation['max_rows']}"
                                               if validation["truncated"] else "")
    if validation["success"]:
        return f"all {validation['evaluated']} expectation(s) passed on {scope}"
    return f"{validation['failed']} of {validation['evaluated']} expectation(s) failed on {scope}"


def _assessment(subject: str, validation: Mapping[str, Any], reason: str, confidence: float) -> dict[str, Any]:
    """The shape other agents' verdicts are compared in (``core.disagreement``): failures are anomalous."""
    return {"subject": subject, "verdict": "normal" if validation["success"] else "anomalous",
            "confidence": confidence, "summary": reason, "findings": list(validation["failures"])}


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2)
