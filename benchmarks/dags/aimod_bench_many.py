"""Benchmark DAG for benchmarks/bench_many_approvals.py: many approvals waiting at once.

``aimod_bench_many``: one task, ``ParkingAgentOperator``, mapped over ``params.count`` items (one DAG run
holds every request: Airflow's per-DAG run limit does not apply, and the listing is one run's). Each
mapped instance runs a one-node LangGraph agent that asks a person through the agents' own HITL path
(``AgentRuntime.ask_person`` -> ``interrupt`` -> ``operators.approval.ask_human``: a ``hitl_detail``
row, then ``awaiting_input`` holding no worker slot), and on the answer resumes from its checkpoint
and ends answered (approved) or refused. The agent does no other work, so the benchmark measures the
approval path at volume, not a model or a warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

START = pendulum.datetime(2024, 1, 1, tz="UTC")
REVIEWERS = [{"id": "reviewer", "name": "Benchmark reviewer"}]


class ParkingAgentOperator(AgentOperator):
    """Asks a person to approve ``item`` and ends with their decision (a trivial agent on the real HITL path)."""

    agent_name = "summarizer"  # a registered agent for the envelope and the store; its tools are never used
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "item")

    def __init__(self, *, item: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item

    def request_text(self) -> str:
        return f"approve item {self.item}"

    def build_graph(self, runtime: AgentRuntime, resources: Any, context: Context) -> StateGraph:
        from langgraph.graph import END, START, StateGraph

        from airflow_aimod.core.approval import ApprovalRequest
        from airflow_aimod.core.state import AgentState, Status

        item = self.item

        def ask(state: AgentState) -> dict[str, Any]:
            action_id = f"item-{item}"
            decision = runtime.ask_person(ApprovalRequest(
                agent=runtime.spec.name, action="bench.approve", action_id=action_id,
                subject=f"Approve item {item}?", body=f"Benchmark request for item **{item}**.",
                reasons=("benchmark",), trace_id=state.get("trace_id")))
            decided = runtime.decided(decision, action_id)
            status = Status.ANSWERED if decision.approved else Status.REFUSED
            return runtime.finish("ask", status, f"item {item}: {decision.decision} by {decision.who()}",
                                  events=decided["events"], approvals=decided["approvals"],
                                  result={"item": item, "decision": decision.decision})

        builder = StateGraph(AgentState)
        builder.add_node("ask", ask)
        builder.add_edge(START, "ask")
        builder.add_edge("ask", END)
        return builder


with DAG(dag_id="aimod_bench_many", schedule=None, start_date=START, catchup=False, tags=["aimod", "bench"],
         params={"count": Param(20, type="integer", minimum=1)}, max_active_tasks=100_000):
    @task
    def items(params: dict[str, Any] | None = None) -> list[int]:
        return list(range(int((params or {})["count"])))

    ParkingAgentOperator.partial(task_id="ask", hitl=True, assigned_users=REVIEWERS).expand(item=items())
