"""``aimod sql check`` (the SQL guard, pure core only) and ``aimod sql ask`` (the SQL agent on a connection)."""

from __future__ import annotations

import argparse

from airflow_aimod.cli.args import positive_int
from airflow_aimod.cli.output import NO, OK, add_output_flag, csv_list, emit, read_text_arg

_PII_TABLES = "tables holding PII, comma-separated (e.g. customers,employees); queries reading them need approval"
_PII_COLUMNS = "PII columns as table.column, comma-separated (e.g. customers.email,customers.phone)"


def register(sub: argparse._SubParsersAction) -> None:
    sql = sub.add_parser("sql", help="check SQL with the guard, or ask the SQL agent",
                         description="The SQL guard and the SQL agent.")
    commands = sql.add_subparsers(dest="sql_command", required=True, metavar="{check,ask}")

    check = commands.add_parser("check", help="run the read-only SQL guard on one statement",
                                description="Parse SQL and say whether the SQL agent may run it (exit 0) or not "
                                            "(exit 1). Loads no Airflow and no LangChain.")
    check.add_argument("sql", help="one SQL statement ('-' reads it from stdin)")
    check.add_argument("--dialect", default="sqlite", help="sqlglot dialect: sqlite, postgres, ... (default sqlite)")
    check.add_argument("--max-tables", type=positive_int, default=5, metavar="N",
                       help="most tables one query may read (default 5)")
    check.add_argument("--pii-tables", default="", metavar="T1,T2", help=_PII_TABLES)
    check.add_argument("--pii-columns", default="", metavar="T.C,...", help=_PII_COLUMNS)
    add_output_flag(check)
    check.set_defaults(func=run_check)

    ask = commands.add_parser("ask", help="answer a question with the SQL agent",
                              description="Answer QUESTION with the SQL agent on an Airflow connection: plan, "
                                          "guard, run read-only. A PII query stops before running.")
    ask.add_argument("question", help="the question, in words ('-' reads it from stdin)")
    ask.add_argument("--conn-id", required=True, metavar="CONN_ID",
                     help="the warehouse: an Airflow connection id (sqlite or postgres)")
    ask.add_argument("--llm", default="offline", metavar="offline|CONN_ID",
                     help="'offline' (the built-in engine, no network; default) or an aimod_llm connection id: "
                             "the values of an operator's llm_conn_id")
    ask.add_argument("--pii-tables", default="", metavar="T1,T2", help=_PII_TABLES)
    ask.add_argument("--pii-columns", default="", metavar="T.C,...", help=_PII_COLUMNS)
    ask.add_argument("--max-rows", type=positive_int, default=100, metavar="N", help="most rows returned (default 100)")
    add_output_flag(ask)
    ask.set_defaults(func=run_ask)


def run_check(args: argparse.Namespace) -> int:
    from airflow_aimod.core.sqlguard import SqlGuard

    guard = SqlGuard(dialect=args.dialect, max_tables=args.max_tables, pii_tables=csv_list(args.pii_tables),
                     pii_columns=csv_list(args.pii_columns))
    verdict = guard.check(read_text_arg(args.sql))
    data = verdict.to_dict()
    emit(args, {key: data[key] for key in ("allowed", "requires_approval", "tables", "violations", "approval_reasons",
                                           "statement")})
    return OK if verdict.allowed else NO


def run_ask(args: argparse.Namespace) -> int:
    from airflow_aimod.cli.graph import run_graph
    from airflow_aimod.cli.output import progress

    with progress(f"loading the SQL agent and connection {args.conn_id!r}"):
        from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
        from airflow_aimod.core.registry import get_agent
        from airflow_aimod.core.schema_select import SchemaSelector
        from airflow_aimod.hooks.warehouse import dialect_for, get_connection, open_readonly_executor

        spec = get_agent("sql_agent")
        envelope = spec.envelope.override({"sql": {"pii_tables": csv_list(args.pii_tables),
                                                   "pii_columns": csv_list(args.pii_columns)}})
        dialect = dialect_for(get_connection(args.conn_id).conn_type)
    question = read_text_arg(args.question)
    with open_readonly_executor(args.conn_id) as executor:
        from airflow_aimod.operators._knowledge import sql_examples, sql_vocabulary

        tools = SqlAgentTools(executor, SchemaSelector(), max_rows=args.max_rows, examples=sql_examples(args.conn_id),
                              vocabulary=sql_vocabulary(args.conn_id))
        state = run_graph(spec, args.llm, question, lambda rt: build_graph(rt, tools), envelope=envelope,
                          dialect=dialect)
    result = state.get("result") or {}
    work = state.get("work") or {}
    emit(args, {"status": state["status"], "sql": result.get("sql") or work.get("statement") or work.get("sql"),
                "columns": result.get("columns", []), "rows": result.get("rows", []),
                "reason": state.get("reason", ""), "trace_id": state["trace_id"],
                "token_usage": state.get("token_usage")})
    return OK if state["status"] in ("answered", "refused", "needs_approval") else NO
