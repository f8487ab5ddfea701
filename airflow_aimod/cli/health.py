"""``aimod health``: per agent, runs, success rate, latency, tokens, errors and timeouts in a window."""

from __future__ import annotations

import argparse
import re
import time

from airflow_aimod.cli.output import OK, UsageError, add_output_flag, emit, records_table
from airflow_aimod.cli.store import add_store_flag, open_queries

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_COLUMNS = ("agent", "runs", "succeeded", "pending", "success_rate", "p50_s", "p95_s", "input_tokens",
            "output_tokens", "llm_calls", "errors", "timeouts")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("health", help="per-agent health from the AiMod store",
                            description="Runs, success rate, latency p50/p95, tokens, errors and timeouts per agent "
                                        "over the last WINDOW, from the AiMod store (as the AiMod page shows).")
    parser.add_argument("--window", default="24h", metavar="N[s|m|h|d]",
                        help="how far back to look: a number with a unit, e.g. 90m, 24h, 7d (default 24h)")
    add_store_flag(parser)
    add_output_flag(parser)
    parser.set_defaults(func=run)


def parse_window(text: str) -> float:
    """``'24h'`` -> 86400.0; a bare number is seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--window {text!r}: use a positive number with a unit s, m, h or d (e.g. 24h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def run(args: argparse.Namespace) -> int:
    window = parse_window(args.window)
    rows = open_queries(args).agent_health(window=window, now=time.time())
    emit(args, rows, table=lambda data: records_table(data, _COLUMNS) if data else
         f"no agent runs in the last {args.window}")
    return OK
