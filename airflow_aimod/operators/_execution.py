"""How an operator runs an agent graph inside an Airflow task.

Shared by every agent operator and the router: one trace id per request (taken from
the upstream router when there is one), events to the task log, the LLM resolved
from a connection id, the graph run under a checkpointer keyed by the task instance.
A resumed task passes ``Resume``: the thread id and trace id saved at the pause, and the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.approval import ApprovalDecision
from airflow_aimod.core.phases import PhaseTimer
from airflow_aimod.core.permissions import Envelope
from airflow_aimod.core.registry import AgentSpec

TRACE_XCOM_KEY = "aimod_trace_id"


@dataclass(frozen=True)
class Resume:
    """Continue the paused thread ``thread_id`` with a person's ``decision``."""

    thread_id: str
    decision: ApprovalDecision
    trace_id: str | None = None


def default_checkpoint_url() -> str:
    """``[aimod] checkpoint_conn_id`` or ``checkpoint_url``, else an embedded SQLite file under AIRFLOW_HOME."""
    from airflow_aimod.settings import configured_url, embedded_sqlite_url

    return (configured_url("checkpoint_url", "checkpoint_conn_id")
            or embedded_sqlite_url("checkpoints.sqlite", setting="checkpoint_url"))


def thread_id(context: Any, try_number: int | None = None) -> str:
    """One LangGraph thread per task-instance try, within the run's clear generation (a clear starts afresh)."""
    ti = context["ti"]
    clears = getattr(context.get("dag_run"), "clear_number", 0) or 0
    tried = try_number if try_number is not None else getattr(ti, "try_number", 1)
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}/c{clears}/{tried}"


def earlier_threads(context: Any) -> list[str]:
    """The threads of this task's earlier tries since the last clear, newest first."""
    tried = int(getattr(context["ti"], "try_number", 1) or 1)
    return [thread_id(context, n) for n in range(tried - 1, 0, -1)]


def upstream_trace_id(context: Any, task: Any) -> str | None:
    """The trace id a router upstream of ``task`` pushed, if any."""
    upstream = sorted(getattr(task, "upstream_task_ids", ()) or ())
    if not upstream:
        return None
    values = context["ti"].xcom_pull(task_ids=upstream, key=TRACE_XCOM_KEY)
    if isinstance(values, str):
        return values
    return next((v for v in values or () if isinstance(v, str) and v), None)


def run_agent(*, spec: AgentSpec, envelope: Envelope, llm_conn_id: str, request: str, context: Any,
              build: Callable[[Any], Any], trace_id: str | None, dialect: str = "sqlite",
              checkpoint_url: str | None = None, resume: Resume | None = None,
              dag_run_token_budget: int | None = None, plan_task_id: str | None = None,
              phases: PhaseTimer | None = None) -> Any:
    """Build the agent's graph with ``build(runtime)`` and run it to its end or its pause (or resume it).

    LLM calls count against the DAG run's shared ledger and start from what earlier tries spent
    (``operators._budget``); ``dag_run_token_budget`` None means ``[aimod] dag_run_token_budget``; with
    ``plan_task_id`` (a plan step) they draw from that plan's reservation instead.
    """
    phases = phases or PhaseTimer()
    with phases.phase("imports"):
        import langgraph.graph  # noqa: F401  (every agent graph is built on it: its import is timed here)

        from airflow_aimod.core.agents.runtime import AgentRuntime
        from airflow_aimod.core.checkpoints import open_checkpointer
        from airflow_aimod.core.llm.caller import RetryPolicy
        from airflow_aimod.core.runner import AgentRunner
        from airflow_aimod.core.state import initial_state
        from airflow_aimod.core.tracing import Tracer, new_trace_id
        from airflow_aimod.hooks.llm import resolve_llm_with_retries
        from airflow_aimod.observability.sinks import event_sinks, record_run
        from airflow_aimod.operators._budget import configured_run_budget, task_budget

    trace = (resume and resume.trace_id) or trace_id or new_trace_id()
    with phases.phase("setup"):
        tracer = Tracer(trace_id=trace, agent=spec.name, sinks=event_sinks(context))
        llm, retries = resolve_llm_with_retries(llm_conn_id)
        limit = dag_run_token_budget if dag_run_token_budget is not None else configured_run_budget()
        budget = task_budget(context, limit, plan_task_id=plan_task_id)
        runtime = AgentRuntime(spec=spec, envelope=envelope, llm=llm, tracer=tracer, dialect=dialect,
                               retry=RetryPolicy(max_retries=retries), ledger=budget.ledger,
                               prior_usage=budget.prior_usage, deadline=budget.deadline)
    with phases.phase("graph"):
        builder = build(runtime)
    url = checkpoint_url or default_checkpoint_url()
    with ExitStack() as opened:
        with phases.phase("checkpoint"):
            saver = opened.enter_context(open_checkpointer(url, setup=resume is None))
        with phases.phase("compile"):
            runner = AgentRunner(builder, saver, thread_id=resume.thread_id if resume else thread_id(context))
        with phases.phase("run"):
            if resume is not None:
                result = runner.continue_with(resume.decision.to_dict())
            else:
                result = (runner.carry_on(earlier_threads(context))
                          or runner.start(initial_state(request=request, agent=spec.name, tier=spec.tier,
                                                        trace_id=trace)))
    with phases.phase("record"):
        record_run(context, outcome_of(result, spec), events=result.state.get("events") or (), request=request)
    tracer.event("timing", "task_phases", resumed=resume is not None, phases_ms=phases.as_dict())
    return result


def outcome_of(result: Any, spec: AgentSpec) -> dict[str, Any]:
    """The JSON outcome of a run (XCom, the task log, the store), with the pending request when it paused;
    known secrets are scrubbed from every value."""
    from airflow_aimod.core.redaction import scrub_data
    from airflow_aimod.core.state import outcome

    out = outcome(result.state, spec.result_keys)
    if result.interrupt is not None:
        out["pending_approval"] = result.interrupt
    return scrub_data(out)
