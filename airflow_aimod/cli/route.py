"""``aimod route``: where the router would send a request."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.args import threshold
from airflow_aimod.cli.output import NO, OK, add_output_flag, emit, read_text_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("route", help="classify a request: which agent, how confident",
                            description="Classify TEXT as the router task would and print the decision.")
    parser.add_argument("text", help="the request, in words ('-' reads it from stdin)")
    parser.add_argument("--llm", default="offline", metavar="offline|CONN_ID",
                        help="'offline' (the built-in engine, no network; default) or an aimod_llm connection id: "
                             "the values of an operator's llm_conn_id")
    parser.add_argument("--threshold", type=threshold, default=0.85, metavar="0..1",
                        help="confidence below which the request goes to a person, in (0, 1] (default 0.85)")
    parser.add_argument("--conn-id", metavar="CONN_ID",
                        help="the warehouse the agents use: its table and column words and the verified examples "
                             "inform routing (loads Airflow)")
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from airflow_aimod.core.routing import decide, normalize_scores

    text = read_text_arg(args.text)
    if args.llm != "offline":
        return _route_with_connection(args, text)
    from airflow_aimod.core.llm.engine import answer_context
    from airflow_aimod.core.registry import routing_catalog

    agents, words = routing_catalog(), []
    if args.conn_id:  # the warehouse's words and the verified examples (this loads Airflow)
        from airflow_aimod.operators._knowledge import router_knowledge

        agents, words = router_knowledge(args.conn_id)
    reply = answer_context({"task": "route", "request": text, "agents": agents, "schema": words})
    scores = normalize_scores(reply.get("scores"), [a["name"] for a in agents])
    emit(args, decide(scores, threshold=args.threshold, rationale=str(reply.get("rationale", ""))).to_dict())
    return OK


def _route_with_connection(args: argparse.Namespace, text: str) -> int:
    from airflow_aimod.cli.graph import run_graph
    from airflow_aimod.core.agents.task_router import build_graph
    from airflow_aimod.core.registry import get_agent

    agents, words = None, ()
    if args.conn_id:
        from airflow_aimod.operators._knowledge import router_knowledge

        agents, words = router_knowledge(args.conn_id)
    state = run_graph(get_agent("task_router"), args.llm, text,
                      lambda rt: build_graph(rt, threshold=args.threshold, agents=agents, schema=words))
    result = dict(state.get("result") or {})
    result.setdefault("decision", "human_review")
    emit(args, {**result, "trace_id": state["trace_id"], "status": state["status"], "reason": state.get("reason", "")})
    return OK if state["status"] in ("answered", "escalated") else NO
