"""``aimod``: try the agents outside a DAG.

  aimod agents                                   the fifteen agents as JSON
  aimod route [--llm offline|CONN_ID] TEXT       where the router would send TEXT
  aimod sql check [--dialect D] [--max-tables N] [--pii-tables a,b] SQL
  aimod sql ask --conn-id ID [--llm offline|CONN_ID] [--pii-tables a,b] QUESTION
  aimod demo                                     the offline end-to-end demo
  aimod ml drift|train ...                       drift and training from CSV files (see cli_ml.py)

Exit codes: 0 success (for ``sql check``: allowed, with or without approval),
1 rejected or failed, 2 usage or configuration error. ``sql check`` and
``route --llm offline`` load only the pure core: no Airflow, no LangChain.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from airflow_aimod.exceptions import ConfigurationError


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def cmd_agents(args: argparse.Namespace) -> int:
    from airflow_aimod.core.registry import REGISTRY

    _print([spec.to_dict() for spec in REGISTRY.values()])
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from airflow_aimod.core.routing import decide, normalize_scores

    if args.llm == "offline":
        from airflow_aimod.core.llm.engine import answer_context
        from airflow_aimod.core.registry import routing_catalog

        agents = routing_catalog()
        reply = answer_context({"task": "route", "request": args.text, "agents": agents})
        scores = normalize_scores(reply.get("scores"), [a["name"] for a in agents])
        decision = decide(scores, threshold=args.threshold, rationale=str(reply.get("rationale", "")))
        _print(decision.to_dict())
        return 0
    return _route_with_connection(args)


def _route_with_connection(args: argparse.Namespace) -> int:
    from airflow_aimod.core.agents.task_router import build_graph
    from airflow_aimod.core.registry import get_agent

    state = _run_graph(get_agent("task_router"), args.llm, args.text, lambda rt: build_graph(rt, threshold=args.threshold))
    result = dict(state.get("result") or {})
    result.setdefault("decision", "human_review")
    _print({**result, "trace_id": state["trace_id"], "status": state["status"], "reason": state.get("reason", "")})
    return 0 if state["status"] in ("answered", "escalated") else 1


def cmd_sql_check(args: argparse.Namespace) -> int:
    from airflow_aimod.core.sqlguard import SqlGuard

    guard = SqlGuard(dialect=args.dialect, max_tables=args.max_tables, pii_tables=_csv(args.pii_tables),
                     pii_columns=_csv(args.pii_columns))
    verdict = guard.check(args.sql)
    data = verdict.to_dict()
    _print({key: data[key] for key in ("allowed", "requires_approval", "tables", "violations", "approval_reasons",
                                       "statement")})
    return 0 if verdict.allowed else 1


def cmd_sql_ask(args: argparse.Namespace) -> int:
    from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
    from airflow_aimod.core.registry import get_agent
    from airflow_aimod.core.schema_select import SchemaSelector
    from airflow_aimod.hooks.warehouse import dialect_for, get_connection, open_readonly_executor

    spec = get_agent("sql_agent")
    sql = {"pii_tables": _csv(args.pii_tables), "pii_columns": _csv(args.pii_columns)}
    envelope = spec.envelope.override({"sql": sql})
    dialect = dialect_for(get_connection(args.conn_id).conn_type)
    with open_readonly_executor(args.conn_id) as executor:
        tools = SqlAgentTools(executor, SchemaSelector(), max_rows=args.max_rows)
        state = _run_graph(spec, args.llm, args.question, lambda rt: build_graph(rt, tools),
                           envelope=envelope, dialect=dialect)
    result = state.get("result") or {}
    work = state.get("work") or {}
    _print({"status": state["status"], "sql": result.get("sql") or work.get("statement") or work.get("sql"),
            "columns": result.get("columns", []), "rows": result.get("rows", []), "reason": state.get("reason", ""),
            "trace_id": state["trace_id"], "token_usage": state.get("token_usage")})
    return 0 if state["status"] in ("answered", "refused", "needs_approval") else 1


def _run_graph(spec: Any, llm: str, request: str, build: Any, *, envelope: Any = None, dialect: str = "sqlite"):
    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.checkpoints import open_checkpointer
    from airflow_aimod.core.runner import AgentRunner
    from airflow_aimod.core.state import initial_state
    from airflow_aimod.core.tracing import Tracer, new_trace_id
    from airflow_aimod.core.llm.caller import RetryPolicy
    from airflow_aimod.hooks.llm import resolve_llm_with_retries

    trace_id = new_trace_id()
    model, retries = resolve_llm_with_retries(llm)  # the connection's max_retries, as in a task
    runtime = AgentRuntime(spec=spec, envelope=envelope or spec.envelope, llm=model,
                           tracer=Tracer(trace_id=trace_id, agent=spec.name), dialect=dialect,
                           retry=RetryPolicy(max_retries=retries))
    with open_checkpointer("memory://") as saver:
        runner = AgentRunner(build(runtime), saver, thread_id=f"cli/{trace_id}")
        initial = initial_state(request=request, agent=spec.name, tier=spec.tier, trace_id=trace_id)
        return runner.start(initial).state


def cmd_demo(args: argparse.Namespace) -> int:
    from airflow_aimod.demo.run import main as demo_main

    return demo_main(workdir=args.workdir, requests=args.request or None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aimod", description="Try airflow_aimod agents outside a DAG.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("agents", help="list the fifteen agents").set_defaults(func=cmd_agents)

    route = sub.add_parser("route", help="classify a request")
    route.add_argument("text")
    route.add_argument("--llm", default="offline", help="'offline' or an aimod_llm connection id")
    route.add_argument("--threshold", type=float, default=0.85)
    route.set_defaults(func=cmd_route)

    sql = sub.add_parser("sql", help="check SQL, or ask the SQL agent").add_subparsers(dest="sql_command", required=True)
    check = sql.add_parser("check", help="run the SQL guard on one statement")
    check.add_argument("sql")
    check.add_argument("--dialect", default="sqlite")
    check.add_argument("--max-tables", type=int, default=5)
    check.add_argument("--pii-tables", default="")
    check.add_argument("--pii-columns", default="")
    check.set_defaults(func=cmd_sql_check)

    ask = sql.add_parser("ask", help="answer a question with the SQL agent")
    ask.add_argument("question")
    ask.add_argument("--conn-id", required=True, help="an Airflow connection id (sqlite or postgres)")
    ask.add_argument("--llm", default="offline")
    ask.add_argument("--pii-tables", default="")
    ask.add_argument("--pii-columns", default="")
    ask.add_argument("--max-rows", type=int, default=100)
    ask.set_defaults(func=cmd_sql_ask)

    demo = sub.add_parser("demo", help="run the offline end-to-end demo")
    demo.add_argument("--workdir", default=".aimod-demo", help="where the demo keeps its Airflow home and warehouse")
    demo.add_argument("--request", action="append", help="a request to run (repeatable; default: a built-in set)")
    demo.set_defaults(func=cmd_demo)

    from airflow_aimod.cli_ml import add_ml_parser

    add_ml_parser(sub, printer=_print, csv_list=_csv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aimod`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as exc:
        print(f"aimod: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
