"""Every agent task ends with exactly one outcome in the AiMod store, failed ones included.

``tracked_run`` wraps a task's run: it records the run as ``running`` before anything can fail
(so a worker killed mid-run leaves a row the dashboard reconciles with Airflow's ``failed``), and
when the task fails for any reason — a missing warehouse file before the graph starts, a task
timeout, a termination, a status the operator fails on — it records the run as ``failed`` with
the error, keeping what the agent had spent. A pause for a person, a deferral, a skip or a branch
is not a failure. ``record_failed_task`` is the same net as an ``on_failure_callback``: for tasks
whose failure the operator never saw (Airflow's callback after a heartbeat timeout), it records a
``failed`` outcome unless the task already has one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

OUTCOME_ATTR = "aimod_outcome"


def _not_failures() -> tuple[type[BaseException], ...]:
    from airflow.sdk.exceptions import AirflowSkipException, DownstreamTasksSkipped, TaskDeferred

    found: list[type[BaseException]] = [AirflowSkipException, DownstreamTasksSkipped, TaskDeferred]
    try:
        from airflow.sdk.exceptions import TaskAwaitingInput
    except ImportError:  # Airflow < 3.3 defers instead
        pass
    else:
        found.append(TaskAwaitingInput)
    return tuple(found)


@contextmanager
def tracked_run(context: Mapping[str, Any], *, agent: str, trace_id: str, request: str = "") -> Iterator[None]:
    """Record the run as started, and as failed when the body raises anything but a pause or a skip."""
    from airflow_aimod.observability.sinks import record_run

    started = {"agent": agent, "trace_id": trace_id, "status": "running", "reason": "started"}
    record_run(context, started, request=request, metrics=False)
    try:
        yield
    except _not_failures():
        raise
    except BaseException as exc:
        record_run(context, failed_outcome(exc, agent=agent, trace_id=trace_id), request=request)
        raise


def failed_outcome(exc: BaseException, *, agent: str, trace_id: str) -> dict[str, Any]:
    """The outcome of a task that failed with ``exc`` (the agent's own outcome, when it had one, marked failed)."""
    from airflow_aimod.core.redaction import scrub

    out = dict(getattr(exc, OUTCOME_ATTR, None) or {"agent": agent, "trace_id": trace_id})
    message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if out.get("status") in ("failed", "budget_exceeded"):
        return out
    return {**out, "status": "failed", "reason": f"task failed — {reason}"[:500]}


def record_failed_task(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``-style net: a failed outcome for the task unless it already has a final one."""
    from airflow_aimod.observability.sinks import record_run, shared_store, store_url

    ti, task = context.get("ti"), context.get("task")
    agent = getattr(task, "agent_name", None)
    url = store_url()
    if ti is None or not agent or url is None:
        return
    try:
        rows = shared_store(url).fetch(
            "SELECT trace_id, status FROM aimod_outcomes WHERE dag_id = ? AND run_id = ? AND task_id = ? "
            "AND map_index = ? ORDER BY ended_at DESC LIMIT 1",
            (ti.dag_id, ti.run_id, ti.task_id, ti.map_index if isinstance(getattr(ti, "map_index", None), int) else -1))
    except Exception:  # the store is down: the dashboard still reconciles with Airflow
        rows = []
    if rows and rows[0][1] in ("failed", "budget_exceeded"):
        return
    trace = rows[0][0] if rows else f"task-{ti.dag_id}-{ti.run_id}-{ti.task_id}"
    error = context.get("exception")
    reason = f"task failed outside the agent ({type(error).__name__})" if error else "task failed outside the agent"
    record_run(context, {"agent": agent, "trace_id": trace, "status": "failed", "reason": reason})


def with_failure_net(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Constructor kwargs with ``record_failed_task`` first among the ``on_failure_callback``s."""
    given = kwargs["on_failure_callback"] if "on_failure_callback" in kwargs else \
        (kwargs.get("default_args") or {}).get("on_failure_callback")  # a DAG's default callbacks are kept
    others = list(given) if isinstance(given, (list, tuple)) else [given] if given else []
    return {**kwargs, "on_failure_callback": [record_failed_task, *(c for c in others if c is not record_failed_task)]}


def with_answer_retry(kwargs: dict[str, Any], *, hitl: bool) -> dict[str, Any]:
    """Constructor kwargs giving a task that asks a person one retry (after 15 s) when nothing sets ``retries``
    (the task, ``default_args`` or ``[core] default_task_retries``).

    Airflow 3.3.2 can fail a task answered right after it parked (its scheduler takes the parked worker's late
    exit for the resumed task's), after the agent finished or before it resumed. The retry carries on that
    try's thread (``core.runner.AgentRunner.carry_on``): it ends with the answer the graph already applied,
    or asks the same request again when the answer never reached it — nothing is re-drafted or run twice.
    """
    from airflow.sdk.configuration import conf

    given = {**(kwargs.get("default_args") or {}), **kwargs}
    if not hitl or "retries" in given or conf.getint("core", "default_task_retries", fallback=0):
        return kwargs
    return {**kwargs, "retries": 1, "retry_delay": given.get("retry_delay", timedelta(seconds=15))}
