"""``aimod trace TRACE_ID``: one request's timeline — every LLM call, tool call and decision, in order."""

from __future__ import annotations

import argparse
import re
from typing import Any

from airflow_aimod.cli.args import positive_int
from airflow_aimod.cli.output import NO, OK, UsageError, add_output_flag, cell, emit, records_table
from airflow_aimod.cli.store import add_store_flag, open_queries

TRACE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("trace", help="the timeline of one request's events from the AiMod store",
                            description="Print the events of TRACE_ID (the trace_id of an agent task's XCom result) in "
                                        "time order, then each agent's outcome.")
    parser.add_argument("trace_id", metavar="TRACE_ID", help="32 hex digits, as in an agent result's trace_id")
    parser.add_argument("--limit", type=positive_int, default=2000, metavar="N", help="most events shown (default 2000)")
    add_store_flag(parser)
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    if not TRACE_ID.match(args.trace_id):
        raise UsageError(f"{args.trace_id[:80]!r} is not a trace id: use the 32 hex digits of an agent result's "
                         f"trace_id")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    trace = open_queries(args).trace(args.trace_id, limit=args.limit)
    if not trace["events"] and not trace["outcomes"]:
        print(f"aimod: no events for trace {args.trace_id} in the AiMod store", file=sys.stderr)
        return NO
    start = trace["events"][0]["ts"] if trace["events"] else 0.0
    for event in trace["events"]:
        event["t_s"] = round(event["ts"] - start, 3)
    emit(args, trace, table=_table)
    return OK


def _table(trace: dict[str, Any]) -> str:
    rows = [{**e, "detail": _detail(e.get("data") or {})} for e in trace["events"]]
    parts = [f"trace {trace['trace_id']}: {len(rows)} event(s)" + (" (truncated)" if trace["truncated"] else ""),
             records_table(rows, ("t_s", "agent", "task_id", "kind", "name", "detail")), "",
             records_table(trace["outcomes"], ("agent", "task_id", "status", "reason", "input_tokens",
                                               "output_tokens", "needed_human"))]
    return "\n".join(parts)


def _detail(data: dict[str, Any]) -> str:
    return cell(", ".join(f"{k}={cell(v, 40)}" for k, v in data.items()), 70)
