"""AgentApprovalTrigger: wait on the triggerer for the decision on another task's approval request.

An agent operator with ``hitl=True`` that asks a person writes a native Airflow HITL request and
pushes XCom ``aimod_approval`` (the request's task-instance id, action id, trace id and proposal)
before it parks. This trigger polls, every ``poke_interval`` seconds and read-only, three things
through the triggerer's execution-API channel: the asking task's state, that XCom, and the HITL
response of the task instance it names (only the triggerer may read another task's response —
a worker's token is scoped to its own task instance). It fires once:

- ``{"status": "answered", "request", "chosen_options", "params_input", "responded_by_user",
  "responded_at", "timedout"}`` when the request has a response (a person's, or the timeout default);
- ``{"status": "not_asked", "task_state", "agent_status"}`` when the task ended without asking.

Polling is idempotent, so a restarted triggerer simply polls again: nothing is lost or answered twice.
The trigger takes only JSON-safe primitives, so ``serialize()`` round-trips through the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_aimod.operators.approval import APPROVAL_XCOM_KEY  # pushed by HumanApprovalMixin.ask_human

FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
NOT_STARTED = frozenset({None, "none", "scheduled", "queued"})  # cannot have asked: no XCom read (no 404 noise)


def decide(state: str | None, request: Mapping[str, Any] | None,
           response: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The trigger's event for what was read, or ``None`` to keep waiting (pure: no Airflow calls)."""
    if request and response and response.get("response_received") and response.get("chosen_options"):
        user = response.get("responded_by_user")
        return {"status": "answered", "request": dict(request), "chosen_options": list(response["chosen_options"]),
                "params_input": dict(response.get("params_input") or {}), "responded_by_user": user,
                "responded_at": _iso(response.get("responded_at")), "timedout": user is None}
    if not request and state in FINISHED:
        return {"status": "not_asked", "task_state": state}
    return None


def read_decision(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any] | None:
    """Read the asking task's state, request and response over the execution API, then ``decide``.

    Runs where ``SUPERVISOR_COMMS`` reaches an execution API that lets it read any task
    instance's HITL response: the triggerer.
    """
    from uuid import UUID

    from airflow.sdk.execution_time.hitl import get_hitl_detail_content_detail
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom

    where = {"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "map_index": map_index}
    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=[task_id], run_ids=[run_id],
                                                 map_index=map_index)
    state = (states.get(run_id) or {}).get(task_id if map_index < 0 else f"{task_id}_{map_index}")
    request = None if state in NOT_STARTED else XCom.get_one(key=APPROVAL_XCOM_KEY, **where)
    response = None
    if request:
        response = get_hitl_detail_content_detail(ti_id=UUID(str(request["ti_id"]))).model_dump(mode="json")
    event = decide(state, request, response)
    if event and event["status"] == "not_asked":
        outcome = XCom.get_one(key="return_value", **where) or XCom.get_one(key="aimod_outcome", **where)
        event["agent_status"] = outcome.get("status") if isinstance(outcome, Mapping) else None
    return event


class AgentApprovalTrigger(BaseTrigger):
    """Fires when the approval request of ``approval_task_id`` in run ``run_id`` is answered (or never made).

    :param dag_id: the DAG of the asking task.
    :param run_id: the DAG run of the asking task.
    :param approval_task_id: the asking task (an agent operator with ``hitl=True``); not ``task_id``,
        which BaseTrigger sets to the deferring task's id.
    :param map_index: its map index; ``-1`` for an unmapped task.
    :param poke_interval: seconds between two reads.
    """

    def __init__(self, *, dag_id: str, run_id: str, approval_task_id: str, map_index: int = -1,
                 poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dag_id = dag_id
        self.run_id = run_id
        self.approval_task_id = approval_task_id
        self.map_index = int(map_index)
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"dag_id": self.dag_id, "run_id": self.run_id, "approval_task_id": self.approval_task_id,
                 "map_index": self.map_index, "poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from asgiref.sync import sync_to_async

        read = sync_to_async(read_decision)
        while True:
            event = await read(self.dag_id, self.run_id, self.approval_task_id, self.map_index)
            if event is not None:
                self.log.info("approval on %s/%s/%s: %s", self.dag_id, self.run_id, self.approval_task_id,
                              event["status"])
                yield TriggerEvent(event)
                return
            await asyncio.sleep(self.poke_interval)


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value is not None else None)
