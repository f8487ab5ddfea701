"""Tier 2 anomaly detector: find the points of a metric series that break from their baseline.

Graph: ``load_series`` (a guarded, read-only ``metric_sql`` query, or a series passed in)
→ ``detect`` (``core.anomaly``: robust z-score, IQR or a weekday/hour seasonal baseline)
→ ``explain`` (one LLM call that explains the flagged points from the numbers) → end.
The statistics decide; the model only explains, so a model that misbehaves cannot
change which points were flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.anomaly import AnomalyDetector
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import anomaly_messages
from airflow_aimod.core.state import AgentState, Status

MAX_FLAGS_IN_PROMPT = 20


class AnomalyTools:
    """Where the series comes from (a read-only executor and a query, or the values) and how it is judged."""

    def __init__(self, detector: AnomalyDetector, *, subject: str, executor: Any = None, metric_sql: str | None = None,
                 series: Sequence[Any] | None = None, max_points: int = 10_000) -> None:
        if (metric_sql is None) == (series is None):
            raise ValueError("give exactly one of metric_sql or series")
        self.detector, self.subject = detector, subject
        self.executor, self.metric_sql, self.series, self.max_points = executor, metric_sql, series, max_points


def build_graph(runtime: AgentRuntime, tools: AnomalyTools) -> StateGraph:
    """The anomaly detector graph, uncompiled."""
    nodes = _AnomalyNodes(runtime, tools)
    return chain(nodes, ("load_series", "detect", "explain"))


def series_from_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """``(timestamp, value)`` pairs from two-column rows, plain values from one-column rows."""
    if len(columns) == 1:
        return [row[0] for row in rows]
    if len(columns) == 2:
        return [(row[0], row[1]) for row in rows]
    raise ValueError(f"the metric query must return (timestamp, value) or (value); it returned {len(columns)} "
                     f"columns: {', '.join(columns)}")


class _AnomalyNodes:
    def __init__(self, runtime: AgentRuntime, tools: AnomalyTools) -> None:
        self.rt, self.tools = runtime, tools

    def load_series(self, state: AgentState) -> dict[str, Any]:
        if self.tools.series is not None:
            return self.rt.update("load_series", work={"series": list(self.tools.series), "sql": None})
        sql = self.tools.metric_sql
        action = Action("sql.read", target=self.rt.dialect, params={"sql": sql})
        run = lambda: self.tools.executor.run(sql, max_rows=self.tools.max_points,  # noqa: E731
                                              timeout_s=self.rt.spec.call_timeout_s)
        try:
            out = self.rt.tool(action, run)
            series = series_from_rows(out.value.columns, out.value.rows)
        except ValueError as exc:
            return self.rt.finish("load_series", Status.REFUSED, str(exc))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("load_series", exc)
        note = {"truncated": True} if out.value.truncated else {}
        return self.rt.update("load_series", events=out.events, work={"series": series, "sql": sql, **note})

    def detect(self, state: AgentState) -> dict[str, Any]:
        try:
            detection = self.tools.detector.detect(state["work"]["series"])
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.finish("detect", Status.REFUSED, str(exc))
        return self.rt.update("detect", work={"detection": detection.to_dict(),
                                              "assessment": detection.assessment(self.tools.subject)})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        detection = dict(work["detection"])
        # The model sees at most MAX_FLAGS_IN_PROMPT flags but always the true count: it cannot hide a flag.
        shown = {**detection, "flags": detection["flags"][:MAX_FLAGS_IN_PROMPT], "flag_count": len(detection["flags"]),
                 "flags_not_shown": max(len(detection["flags"]) - MAX_FLAGS_IN_PROMPT, 0)}
        try:
            reply = self.rt.ask_json(state, anomaly_messages(state["request"], self.tools.subject, shown))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        explanation = str(reply.data.get("summary") or detection["reason"])[:2000]
        result = {"subject": self.tools.subject, "sql": work.get("sql"), "detection": detection,
                  "assessment": {**work["assessment"], "summary": detection["reason"]},
                  "explanation": explanation, "truncated": bool(work.get("truncated"))}
        return self.rt.finish("explain", Status.ANSWERED, detection["reason"], events=reply.events,
                              token_usage=reply.usage, confidence=work["assessment"]["confidence"],
                              rationale=explanation, result=result)
