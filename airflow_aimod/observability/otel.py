"""OpenTelemetry spans for agent runs, when Airflow's tracing is on (``[traces] otel_on``).

An ``OtelSink`` turns each ``llm_call`` and ``tool_call`` event into one span following the GenAI
semantic conventions (``gen_ai.operation.name`` ``chat``/``execute_tool``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens``/``output_tokens``, ``gen_ai.tool.name``), a child of the span that was
current when the run started (the task's span in a worker), carrying the AiMod trace id as
``aimod.trace_id``. Spans go to whatever tracer provider Airflow set up; the AiMod store stays the
record the dashboard reads. Events carry no prompt, reply or raw tool argument, so neither do spans.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("airflow_aimod.otel")
SPAN_KINDS = ("llm_call", "tool_call")


def tracing_on() -> bool:
    """``[traces] otel_on``."""
    from airflow.configuration import conf

    return conf.getboolean("traces", "otel_on", fallback=False)


class OtelSink:
    """An ``EventSink`` emitting one span per LLM call and tool call under ``parent`` (default: the current
    OpenTelemetry context when the sink is made)."""

    def __init__(self, *, tracer: Any = None, parent: Any = None) -> None:
        from opentelemetry import context, trace

        from airflow_aimod import __version__

        self._tracer = tracer or trace.get_tracer("airflow_aimod", __version__)
        self._parent = parent if parent is not None else context.get_current()

    def emit(self, event: dict[str, Any]) -> None:
        if event.get("kind") not in SPAN_KINDS:
            return
        try:
            self._span(event)
        except Exception as exc:  # telemetry must never break a run
            log.warning("AiMod span for event %s was not sent: %s", event.get("event_id"), exc)

    def _span(self, event: dict[str, Any]) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        data = event.get("data") or {}
        end = int(float(event["ts"]) * 1e9)
        start = end - int(float(data.get("latency_ms") or 0) * 1e6)
        name, kind, attributes = _describe(event, data)
        span = self._tracer.start_span(name, context=self._parent, kind=kind or SpanKind.INTERNAL,
                                       start_time=start, attributes=attributes)
        if data.get("outcome") == "error" or data.get("error"):
            span.set_attribute("error.type", "aimod_error")
            span.set_status(Status(StatusCode.ERROR, str(data.get("error") or "")[:300]))
        span.end(end_time=end)


def _describe(event: dict[str, Any], data: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """Span name, kind and attributes of one event."""
    from opentelemetry.trace import SpanKind

    common = {"aimod.trace_id": event["trace_id"], "gen_ai.agent.name": event["agent"],
              "aimod.outcome": str(data.get("outcome") or "")}
    if event["kind"] == "llm_call":
        model = str(data.get("model") or "")
        return f"chat {model}".strip(), SpanKind.CLIENT, {
            **common, "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": int(data.get("input_tokens") or 0),
            "gen_ai.usage.output_tokens": int(data.get("output_tokens") or 0),
            "aimod.task_type": str(data.get("task") or ""), "aimod.attempt": int(data.get("attempt") or 0)}
    tool = str(event["name"])
    return f"execute_tool {tool}", SpanKind.INTERNAL, {
        **common, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
