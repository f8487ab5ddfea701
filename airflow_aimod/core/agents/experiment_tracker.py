"""Tier 3 experiment tracker: answers questions about MLflow experiments and runs, read-only.

Graph: ``fetch`` (``model.read``: the experiments' runs through the MLflow client, at most ``max_runs``)
→ ``plan`` (one LLM call: the question becomes a ``RunQuery`` naming only metrics and runs that exist)
→ ``answer`` (``core.ml.experiments``: the ranking or the differences, computed from the runs) →
``explain`` (one LLM call) → end. The model picks the question's meaning; the numbers come from MLflow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.ml.experiments import RunQuery, answer
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import experiment_answer_messages, experiment_plan_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.exceptions import ConfigurationError

MIN_CONFIDENCE = 0.5


class ExperimentTools:
    """The tracker (``MlflowTracker``), the experiments the question is about, and the clock (``now`` in ms)."""

    def __init__(self, tracker: Any, *, experiments: Sequence[str], max_runs: int = 500,
                 now: Callable[[], float] = time.time) -> None:
        if not experiments:
            raise ValueError("name at least one experiment")
        self.tracker, self.experiments, self.max_runs, self.now = tracker, list(experiments), max_runs, now


def build_graph(runtime: AgentRuntime, tools: ExperimentTools) -> StateGraph:
    """The experiment tracker graph, uncompiled."""
    nodes = _ExperimentNodes(runtime, tools)
    return chain(nodes, ("fetch", "plan", "answer", "explain"))


class _ExperimentNodes:
    def __init__(self, runtime: AgentRuntime, tools: ExperimentTools) -> None:
        self.rt, self.tools = runtime, tools

    def fetch(self, state: AgentState) -> dict[str, Any]:
        t = self.tools
        action = Action("model.read", target=",".join(t.experiments), params={"max_runs": t.max_runs})
        try:
            out = self.rt.tool(action, lambda: t.tracker.search_runs(t.experiments, order_by=["attributes.start_time DESC"],
                                                                     max_results=t.max_runs))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("fetch", exc)
        if not out.value:
            return self.rt.finish("fetch", Status.REFUSED, f"no runs in experiment(s) {', '.join(t.experiments)}",
                                  events=out.events)
        return self.rt.update("fetch", events=out.events, work={"runs": out.value, "now_ms": int(t.now() * 1000)})

    def plan(self, state: AgentState) -> dict[str, Any]:
        runs = state["work"]["runs"]
        prompt = experiment_plan_messages(state["request"], runs)
        try:
            reply = self.rt.ask_json(state, prompt)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("plan", exc)
        usage = {"events": reply.events, "token_usage": reply.usage}
        if reply.data.get("refusal") or reply.confidence < MIN_CONFIDENCE:
            why = reply.data.get("refusal") or f"confidence {reply.confidence:.2f} is below {MIN_CONFIDENCE}"
            return self.rt.finish("plan", Status.REFUSED, f"cannot answer from the runs: {why}", **usage)
        try:
            query = RunQuery.parse(reply.data.get("query") or {})
        except ConfigurationError as exc:
            return self.rt.finish("plan", Status.REFUSED, f"the proposed query is invalid: {exc}", **usage)
        return self.rt.update("plan", work={"query": query.to_dict(), "plan_confidence": reply.confidence}, **usage)

    def answer(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        try:
            found = answer(RunQuery.parse(work["query"]), work["runs"], now_ms=work["now_ms"])
        except ConfigurationError as exc:
            return self.rt.finish("answer", Status.REFUSED, str(exc))
        return self.rt.update("answer", work={"answer": found})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        try:
            reply = self.rt.ask_json(state, experiment_answer_messages(state["request"], work["query"], work["answer"]))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        summary = str(reply.data.get("summary") or "")[:2000]
        result = {"experiments": self.tools.experiments, "query": work["query"], "answer": work["answer"],
                  "runs_read": len(work["runs"]), "explanation": summary}
        return self.rt.finish("explain", Status.ANSWERED, summary or "answered", events=reply.events,
                              token_usage=reply.usage, confidence=work["plan_confidence"], rationale=summary,
                              result=result)
