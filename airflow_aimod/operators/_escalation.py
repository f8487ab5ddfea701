"""Where an agent task's DAG continues after it ended: its normal path, its fallback, or a person.

The registry's error strategy names who takes over (the outcome's ``escalate_to``): on a
timeout a fallback agent (``workflow_coordinator`` for most agents), on other errors,
budget and envelope violations, a person. An ``AgentOperator`` given ``fallback_task_id``
and/or ``human_task_id`` branches like a router: it follows exactly one of them when the
agent handed off, and every other direct downstream task otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

HUMAN = "human"


def check_routes(fallback_task_id: str | None, human_task_id: str | None) -> None:
    """Cheap constructor validation of the two escalation routes."""
    for name, value in (("fallback_task_id", fallback_task_id), ("human_task_id", human_task_id)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigurationError(f"{name} must be a task id (a non-empty string) or None, got {value!r}")
    if fallback_task_id is not None and fallback_task_id == human_task_id:
        raise ConfigurationError("fallback_task_id and human_task_id must be different tasks")


def missing_targets(task_id: str, targets: Collection[str], downstream: Collection[str],
                    dag_tasks: Collection[str]) -> None:
    """Raise ConfigurationError naming every branch target that is not a direct downstream task of ``task_id``."""
    missing = [t for t in dict.fromkeys(targets) if t not in downstream]
    if not missing:
        return
    absent = [t for t in missing if dag_tasks and t not in dag_tasks]
    detail = f"the DAG has no task(s) {absent}" if absent else f"{missing} are not downstream of {task_id}"
    raise ConfigurationError(f"{task_id}: branch target(s) {missing} must be direct downstream tasks ({detail}); "
                             f"add them and `{task_id} >> {missing[0]}`, or change the task ids")


def escalation_target(out: Mapping[str, Any], *, fallback_task_id: str | None,
                      human_task_id: str | None) -> str | None:
    """The route task for this outcome, or None when the DAG follows its normal path."""
    handed_to = out.get("escalate_to")
    if not handed_to:
        return None
    if handed_to == HUMAN:
        return human_task_id or fallback_task_id
    return fallback_task_id or human_task_id


def branches(out: Mapping[str, Any], *, fallback_task_id: str | None, human_task_id: str | None,
             downstream: Collection[str], task_id: str) -> list[str]:
    """The direct downstream task ids to follow (the others are skipped)."""
    routes = [t for t in (fallback_task_id, human_task_id) if t]
    missing_targets(task_id, routes, downstream, ())
    target = escalation_target(out, fallback_task_id=fallback_task_id, human_task_id=human_task_id)
    if target is not None:
        return [target]
    return sorted(set(downstream) - set(routes))
