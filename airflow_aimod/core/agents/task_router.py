"""Tier 1 task router: classify a request and decide dispatch or human review.

Graph: ``classify`` (one LLM call over the specialists' descriptions) → ``decide``
(threshold rule, pure). The router never touches data: its envelope allows only
``llm.call`` and ``handoff``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.prompts import route_messages
from airflow_aimod.core.registry import routing_catalog
from airflow_aimod.core.routing import DEFAULT_THRESHOLD, DISPATCH, decide, normalize_scores
from airflow_aimod.core.state import AgentState, Status


def build_graph(runtime: AgentRuntime, *, threshold: float = DEFAULT_THRESHOLD,
                agents: Sequence[Mapping[str, Any]] | None = None, schema: Sequence[str] = ()) -> StateGraph:
    """Router graph over ``agents`` (default: every specialist in the registry).

    ``schema``: words of the connected warehouse (``core.schema_words.schema_words``), evidence
    that a request naming them is a data request.
    """
    catalog = list(agents) if agents is not None else routing_catalog()

    def classify(state: AgentState) -> dict[str, Any]:
        if not state.get("request", "").strip():
            return runtime.finish("classify", Status.ESCALATED, "the request is empty: a person must say what is needed",
                                  result=decide({}, threshold=threshold, rationale="empty request").to_dict())
        try:
            reply = runtime.ask_json(state, route_messages(state["request"], catalog, schema=schema),
                                     required=("scores",))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return runtime.fail_safe("classify", exc)
        scores = normalize_scores(reply.data.get("scores"), [a["name"] for a in catalog])
        rationale = str(reply.data.get("rationale", ""))[:1000]
        return runtime.update("classify", events=reply.events, token_usage=reply.usage,
                              work={"scores": scores, "rationale": rationale})

    def route(state: AgentState) -> dict[str, Any]:
        work = state.get("work") or {}
        decision = decide(work.get("scores") or {}, threshold=threshold, rationale=work.get("rationale", ""))
        event = runtime.tracer.event("handoff", "route", to=decision.agent, decision=decision.decision,
                                     confidence=decision.confidence)
        if decision.decision == DISPATCH:
            return runtime.finish("decide", Status.ANSWERED, f"dispatch to {decision.agent}", events=[event],
                                  result=decision.to_dict(), confidence=decision.confidence,
                                  rationale=decision.rationale)
        reason = (f"confidence {decision.confidence:.2f} is below {threshold:.2f}: a person picks the agent"
                  if decision.agent else "no agent fits the request: a person decides")
        return runtime.finish("decide", Status.ESCALATED, reason, events=[event], result=decision.to_dict(),
                              confidence=decision.confidence, rationale=decision.rationale)

    builder = StateGraph(AgentState)
    builder.add_node("classify", classify)
    builder.add_node("decide", route)
    builder.add_edge(START, "classify")
    builder.add_conditional_edges("classify", lambda s: END if s.get("status") != Status.RUNNING.value else "decide")
    builder.add_edge("decide", END)
    return builder
