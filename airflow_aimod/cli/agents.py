"""``aimod agents``: the fifteen agents, their tier, timeout and envelope."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.output import OK, add_output_flag, emit, records_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("agents", help="list the fifteen agents (tier, timeout, envelope)",
                            description="List the fifteen agents from the registry.")
    add_output_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from airflow_aimod.core.registry import REGISTRY

    agents = [spec.to_dict() for spec in REGISTRY.values()]
    emit(args, agents, table=lambda rows: records_table(rows, ("name", "tier", "timeout_s", "description")))
    return OK
