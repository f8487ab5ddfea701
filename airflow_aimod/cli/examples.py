"""``aimod examples add|list|remove|export|import``: verified examples in the AiMod store.

An SQL example is checked first: the SQL guard must allow it and it must name only tables and
columns of the connection's live schema. A router example must name an agent the router knows.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from airflow_aimod.cli.output import NO, OK, UsageError, add_output_flag, emit, read_text_arg, write_raw


def open_examples() -> Any:
    from airflow_aimod.operators._knowledge import open_examples as opened

    return opened()


def cmd_add(args: argparse.Namespace) -> int:
    who = args.verified_by or getpass.getuser()
    if args.agent == "task_router":
        example = _router_example(args, who)
    elif args.agent == "sql_agent":
        example = _sql_example(args, who)
    else:
        raise UsageError(f"examples are kept for sql_agent and task_router, not {args.agent!r}")
    emit(args, {"id": open_examples().add(example), "agent": example.agent})
    return 0


def _router_example(args: argparse.Namespace, who: str) -> Any:
    from airflow_aimod.core.examples import Example
    from airflow_aimod.core.registry import routing_catalog

    names = [a["name"] for a in routing_catalog()]
    if not args.request or args.route not in names:
        raise UsageError(f"a router example needs --request TEXT and --route one of: {', '.join(names)}")
    return Example(agent="task_router", question=args.request, answer=args.route, verified_by=who,
                   conn_id=args.conn_id or "")


def _sql_example(args: argparse.Namespace, who: str) -> Any:
    import sqlglot

    from airflow_aimod.core.examples import Example
    from airflow_aimod.core.examples.reuse import fits
    from airflow_aimod.core.schema_words import schema_fingerprint
    from airflow_aimod.core.sqlguard import SqlGuard

    if not args.conn_id or not args.question or not args.sql:
        raise UsageError("an SQL example needs --conn-id ID --question TEXT --sql SQL ('-' reads stdin)")
    from airflow_aimod.operators._knowledge import live_catalog

    sql = read_text_arg(args.sql)
    catalog = live_catalog(args.conn_id)
    verdict = SqlGuard(dialect=catalog.dialect).check(sql)
    if not verdict.allowed:
        raise UsageError(f"the SQL guard refuses this query: {'; '.join(map(str, verdict.violations))}")
    if not fits(sqlglot.parse_one(sql, read=catalog.dialect), catalog):
        raise UsageError(f"the query names a table or column that {args.conn_id!r} does not have")
    return Example(agent="sql_agent", question=args.question, answer=sql.strip(), verified_by=who,
                   conn_id=args.conn_id, schema_fingerprint=schema_fingerprint(catalog.to_dict()))


def cmd_list(args: argparse.Namespace) -> int:
    emit(args, [e.to_dict() for e in open_examples().list(agent=args.agent, conn_id=args.conn_id)])
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    removed = open_examples().remove(args.id)
    emit(args, {"id": args.id, "removed": removed})
    return OK if removed else NO


def cmd_export(args: argparse.Namespace) -> int:
    write_raw(open_examples().export(agent=args.agent, conn_id=args.conn_id))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        text = read_text_arg("-") if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {args.file!r} ({exc.strerror}): pass an 'aimod examples export' "
                                 "file, or '-' for stdin") from None
    emit(args, {"imported": len(open_examples().import_lines(text))})
    return 0


def register(sub: Any) -> None:
    """Register ``aimod examples ...`` on the top-level subparsers."""
    examples = sub.add_parser("examples", help="verified examples the agents reuse").add_subparsers(
        dest="examples_command", required=True)
    add = examples.add_parser("add", help="add a verified example")
    add.add_argument("--agent", required=True, help="sql_agent or task_router")
    add.add_argument("--conn-id", help="the warehouse connection the example is about")
    add.add_argument("--question", help="sql_agent: the question")
    add.add_argument("--sql", help="sql_agent: the verified SQL ('-' reads stdin)")
    add.add_argument("--request", help="task_router: the request")
    add.add_argument("--route", help="task_router: the agent it should go to")
    add.add_argument("--verified-by", help="who verified it (default: the current user)")
    add_output_flag(add)
    add.set_defaults(func=cmd_add)
    for name, func, text in (("list", cmd_list, "list examples as JSON"),
                             ("export", cmd_export, "print examples as JSON lines")):
        cmd = examples.add_parser(name, help=text)
        cmd.add_argument("--agent", help="only this agent's examples (sql_agent or task_router)")
        cmd.add_argument("--conn-id", help="only examples about this warehouse connection")
        if name == "list":
            add_output_flag(cmd)
        cmd.set_defaults(func=func)
    remove = examples.add_parser("remove", help="revoke one example")
    remove.add_argument("id", help="the example's id (from 'aimod examples list')")
    add_output_flag(remove)
    remove.set_defaults(func=cmd_remove)
    imp = examples.add_parser("import", help="add examples from 'export' output")
    imp.add_argument("file", help="a JSON-lines file, or '-' for stdin")
    add_output_flag(imp)
    imp.set_defaults(func=cmd_import)

