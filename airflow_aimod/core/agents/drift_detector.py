"""Tier 3 drift detector: has the data (or the predictions) moved away from a reference sample?

Graph: ``load`` (two guarded, read-only queries — reference and current — each capped in rows,
or the samples passed in) → ``detect`` (``core.ml.drift``: KS/Wasserstein or chi-square/JS per
feature, PSI, Benjamini–Hochberg across features, sample-size floors) → ``explain`` (one LLM call
that explains the numbers) → end. The statistics decide; the model only explains, so a model that
misbehaves cannot change which columns drifted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.ml.drift import DriftDetector, columns_from_rows
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import drift_messages
from airflow_aimod.core.state import AgentState, Status

MAX_FEATURES_IN_PROMPT = 30
SIDES = ("reference", "current")


class DriftTools:
    """Where the two samples come from (a read-only executor and two queries, or the columns themselves),
    which columns are categorical / the prediction / left out, and how drift is judged."""

    def __init__(self, detector: DriftDetector, *, subject: str, executor: Any = None,
                 reference_sql: str | None = None, current_sql: str | None = None,
                 reference: Mapping[str, Sequence[Any]] | None = None, current: Mapping[str, Sequence[Any]] | None = None,
                 categorical: Collection[str] = (), prediction: str | None = None, exclude: Collection[str] = (),
                 max_rows: int = 50_000) -> None:
        if (reference_sql is None) == (reference is None) or (current_sql is None) == (current is None):
            raise ValueError("give the reference and the current sample each as a query or as columns")
        self.detector, self.subject, self.executor, self.max_rows = detector, subject, executor, max_rows
        self.sql = {"reference": reference_sql, "current": current_sql}
        self.given = {"reference": reference, "current": current}
        self.categorical, self.prediction, self.exclude = tuple(categorical), prediction, tuple(exclude)


def build_graph(runtime: AgentRuntime, tools: DriftTools) -> StateGraph:
    """The drift detector graph, uncompiled."""
    nodes = _DriftNodes(runtime, tools)
    return chain(nodes, ("load", "detect", "explain"))


class _DriftNodes:
    def __init__(self, runtime: AgentRuntime, tools: DriftTools) -> None:
        self.rt, self.tools = runtime, tools

    def load(self, state: AgentState) -> dict[str, Any]:
        samples, events, truncated = {}, [], []
        for side in SIDES:
            if self.tools.given[side] is not None:
                samples[side] = {k: list(v) for k, v in self.tools.given[side].items()}
                continue
            sql = self.tools.sql[side]
            action = Action("sql.read", target=self.rt.dialect, params={"sql": sql})
            run = lambda sql=sql: self.tools.executor.run(sql, max_rows=self.tools.max_rows,  # noqa: E731
                                                          timeout_s=self.rt.spec.call_timeout_s)
            try:
                out = self.rt.tool(action, run)
            except Exception as exc:
                if not is_expected_failure(exc):
                    raise
                return self.rt.fail_safe("load", exc, events=events)
            events.extend(out.events)
            samples[side] = columns_from_rows(out.value.columns, out.value.rows)
            if out.value.truncated:
                truncated.append(side)
        return self.rt.update("load", events=events, work={"samples": samples, "truncated": truncated})

    def detect(self, state: AgentState) -> dict[str, Any]:
        samples = state["work"]["samples"]
        try:
            report = self.tools.detector.compare(samples["reference"], samples["current"],
                                                 categorical=self.tools.categorical, prediction=self.tools.prediction,
                                                 exclude=self.tools.exclude)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.finish("detect", Status.REFUSED, str(exc))
        return self.rt.update("detect", work={"samples": None, "drift": report.to_dict(),
                                              "assessment": report.assessment(self.tools.subject)})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        drift, truncated = dict(work["drift"]), list(work.get("truncated") or [])
        shown = {**drift, "features": dict(sorted(drift["features"].items(),
                                                  key=lambda kv: -(kv[1]["effect"] or 0))[:MAX_FEATURES_IN_PROMPT])}
        try:
            reply = self.rt.ask_json(state, drift_messages(state["request"], self.tools.subject, shown, truncated))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        reason = drift["reason"] + (f" (samples capped at {self.tools.max_rows} rows: {', '.join(truncated)})"
                                    if truncated else "")
        explanation = str(reply.data.get("summary") or reason)[:2000]
        result = {"subject": self.tools.subject, "reference_sql": self.tools.sql["reference"],
                  "current_sql": self.tools.sql["current"], "drift": drift,
                  "assessment": {**work["assessment"], "summary": reason}, "explanation": explanation,
                  "truncated": truncated}
        return self.rt.finish("explain", Status.ANSWERED, reason, events=reply.events, token_usage=reply.usage,
                              confidence=work["assessment"]["confidence"], rationale=explanation, result=result)
