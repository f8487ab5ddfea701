"""Run one agent graph from the command line, as a task would (connection retries, tracing, memory checkpoints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_graph(spec: Any, llm: str, request: str, build: Callable[[Any], Any], *, envelope: Any = None,
              dialect: str = "sqlite") -> dict[str, Any]:
    """The final state of ``spec``'s graph on ``request``, with the model of ``llm`` ('offline' or a connection id)."""
    from airflow_aimod.cli.output import progress

    with progress(f"loading the {spec.name} agent and its model ({llm})"):
        from airflow_aimod.core.agents.runtime import AgentRuntime
        from airflow_aimod.core.checkpoints import open_checkpointer
        from airflow_aimod.core.llm.caller import RetryPolicy
        from airflow_aimod.core.runner import AgentRunner
        from airflow_aimod.core.state import initial_state
        from airflow_aimod.core.tracing import Tracer, new_trace_id
        from airflow_aimod.hooks.llm import resolve_llm_with_retries

        trace_id = new_trace_id()
        model, retries = resolve_llm_with_retries(llm)  # the connection's max_retries, as in a task
    runtime = AgentRuntime(spec=spec, envelope=envelope or spec.envelope, llm=model,
                           tracer=Tracer(trace_id=trace_id, agent=spec.name), dialect=dialect,
                           retry=RetryPolicy(max_retries=retries))
    with progress(f"running the {spec.name} agent"), open_checkpointer("memory://") as saver:
        runner = AgentRunner(build(runtime), saver, thread_id=f"cli/{trace_id}")
        initial = initial_state(request=request, agent=spec.name, tier=spec.tier, trace_id=trace_id)
        return runner.start(initial).state
