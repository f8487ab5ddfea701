"""Trace ids and structured events.

Every LLM call, tool call, guard verdict and state transition becomes one JSON event
carrying the request's trace id. A ``Tracer`` both returns the event (so the graph
keeps it in its state) and hands it to its sinks at once (so the task log has it even
when the run later fails).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from airflow_aimod.core.redaction import scrub_data

EVENT_KINDS = frozenset({"llm_call", "tool_call", "guard", "transition", "approval", "handoff", "error",
                         "timing"})

log = logging.getLogger("airflow_aimod.events")


def new_trace_id() -> str:
    """Return a fresh 32-hex-digit trace id."""
    return uuid.uuid4().hex


def digest(value: Any) -> str:
    """Short stable digest of a tool argument, so events never carry raw data."""
    raw = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class EventSink(Protocol):
    """Anything that accepts events: the task log, a list in tests, the AiMod store."""

    def emit(self, event: dict[str, Any]) -> None: ...


class LogSink:
    """Writes each event as one JSON line to the ``airflow_aimod.events`` logger."""

    def emit(self, event: dict[str, Any]) -> None:
        log.info("AIMOD_EVENT %s", json.dumps(event, sort_keys=True, default=str))


class ListSink:
    """Keeps events in memory (tests, the CLI)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class Tracer:
    """Builds events for one agent working on one request and emits them to its sinks."""

    def __init__(self, *, trace_id: str, agent: str, sinks: Iterable[EventSink] = (), clock=time.time) -> None:
        self.trace_id = trace_id
        self.agent = agent
        self._sinks = list(sinks)
        self._clock = clock

    def event(self, kind: str, name: str, **data: Any) -> dict[str, Any]:
        """Create, emit and return one event."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; expected one of {sorted(EVENT_KINDS)}")
        data = scrub_data(data)  # events reach the task log, the AiMod store and the checkpoint: no secrets
        event = {
            "event_id": uuid.uuid4().hex,
            "trace_id": self.trace_id,
            "agent": self.agent,
            "kind": kind,
            "name": name,
            "ts": round(self._clock(), 6),
            "data": data,
        }
        for sink in self._sinks:
            sink.emit(event)
        return event

    def transition(self, node: str, status: str, **data: Any) -> dict[str, Any]:
        """Event for a graph node finishing with the given status."""
        return self.event("transition", node, status=status, **data)

    def tool_call(self, tool: str, *, args: Any, outcome: str, latency_ms: float, **data: Any) -> dict[str, Any]:
        """Event for a tool call; arguments are digested, never logged raw."""
        return self.event("tool_call", tool, args_digest=digest(args), outcome=outcome,
                          latency_ms=round(latency_ms, 2), **data)
