"""``aimod plan``: the plan the workflow coordinator would make for a request, without running anything."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.args import threshold
from airflow_aimod.cli.output import NO, OK, add_output_flag, emit, read_text_arg

STEP_FIELDS = ("id", "agent", "request", "depends_on", "confidence", "status", "note")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plan", help="plan a multi-step request: steps, agents, dependencies",
                            description="Plan TEXT as the workflow coordinator task would and print the plan; "
                                        "nothing runs.")
    parser.add_argument("text", help="the request, in words ('-' reads it from stdin)")
    parser.add_argument("--llm", default="offline", metavar="offline|CONN_ID",
                        help="'offline' (the built-in engine, no network; default) or an aimod_llm connection id")
    parser.add_argument("--conn-id", metavar="CONN_ID",
                        help="the warehouse the steps use: its table and column words inform routing (loads Airflow)")
    parser.add_argument("--threshold", type=threshold, default=0.85, metavar="0..1",
                        help="routing confidence below which the plan goes to a person, in (0, 1] (default 0.85)")
    parser.add_argument("--max-steps", type=int, default=5, metavar="N", help="most steps in a plan (default 5)")
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from airflow_aimod.cli.graph import run_graph
    from airflow_aimod.cli.output import UsageError
    from airflow_aimod.core.agents.workflow_coordinator import CoordinatorTools, build_graph
    from airflow_aimod.core.planning import PlanPolicy
    from airflow_aimod.core.registry import get_agent, routing_catalog
    from airflow_aimod.exceptions import ConfigurationError

    text = read_text_arg(args.text)
    try:
        policy = PlanPolicy(max_steps=args.max_steps, threshold=args.threshold)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    agents, words = routing_catalog(), []
    if args.conn_id:
        from airflow_aimod.operators._knowledge import router_knowledge

        agents, words = router_knowledge(args.conn_id)
    state = run_graph(get_agent("workflow_coordinator"), args.llm, text,
                      lambda rt: build_graph(rt, CoordinatorTools(policy, agents=agents, schema=words)))
    plan = state.get("result") or (state.get("work") or {}).get("check") or {}
    decision = plan.get("decision") or "human_review"
    emit(args, {"decision": "human_review" if decision == "refused" else decision,
                "steps": [{k: s.get(k) for k in STEP_FIELDS} for s in plan.get("steps") or ()],
                "reason": plan.get("reason") or state.get("reason", ""), "trace_id": state.get("trace_id")})
    return NO if state.get("status") in ("failed", "budget_exceeded") else OK
