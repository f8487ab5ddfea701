"""``StoreSink``: the ``EventSink`` that writes a tracer's events to the AiMod store."""

from __future__ import annotations

import logging
from typing import Any

from airflow_aimod.core.store.base import EventStore

log = logging.getLogger("airflow_aimod.store")


class StoreSink:
    """Appends each event to ``store`` with its dag/run/task scope.

    Idempotent on ``event_id``: events re-emitted after a resume are stored once. With
    ``strict=False`` (the default) a store failure is logged, never raised, so an agent run
    never fails because its telemetry could not be written (the task log still has the event).
    """

    def __init__(self, store: EventStore, *, dag_id: str | None = None, run_id: str | None = None,
                 task_id: str | None = None, strict: bool = False) -> None:
        self.store = store
        self.scope = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
        self.strict = strict
        self.failures = 0

    def emit(self, event: dict[str, Any]) -> None:
        try:
            self.store.append([event], scope=self.scope)
        except Exception as exc:  # telemetry must not break the run
            self.failures += 1
            if self.strict:
                raise
            log.warning("AiMod store did not take event %s (%s); it is still in the task log",
                        event.get("event_id"), exc)
