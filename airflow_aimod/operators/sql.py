"""SQLAgentOperator: answer a question about a database with one read-only query."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.runner import RunResult


class SQLAgentOperator(WarehouseAgentOperator):
    """Ask ``question`` of the database behind ``conn_id`` (SQLite or Postgres).

    The agent introspects the schema, drafts SQL, validates it (SQL guard + every table
    and column must exist), repairs at most twice, and runs it read-only with a row cap.
    Queries touching ``pii_tables``/``pii_columns`` stop with status ``needs_approval``
    before anything runs.

    :param question: the question, templated.
    :param conn_id: an Airflow connection of type sqlite or postgres.
    :param max_rows: row cap of the result pushed to XCom.
    :param pii_tables: tables whose use needs a person's approval.
    :param pii_columns: ``table.column`` names whose use needs approval.
    :param max_tables: most tables one query may touch (default from the envelope: 5).
    :param pii_conn_id: a second connection to the same database, used ONLY to run a query a person
        approved (defence in depth: the role of ``conn_id`` should lack column privileges on the PII
        columns, see docs/postgres_readonly_role.md). A warning is logged once when the role of
        ``conn_id`` can read a declared PII column.
    :param learn_from_approvals: when a person approves (or edits and approves) a query on Required Actions
        and it then runs, keep the question and the query that ran as a verified example for ``conn_id``
        (``aimod examples list``), which later similar questions reuse. Queries that needed approval
        because they touch PII, rejections, timeouts and failed queries are never kept. Also
        switched off for every task by ``[aimod] learn_from_approvals = false``.
    """

    agent_name = "sql_agent"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "question", "conn_id")

    def __init__(self, *, question: str, conn_id: str, max_rows: int = 1000, pii_tables: Iterable[str] = (),
                 pii_columns: Iterable[str] = (), max_tables: int | None = None, pii_conn_id: str | None = None,
                 learn_from_approvals: bool = True, **kwargs: Any) -> None:
        if not 1 <= max_rows <= 100_000:
            raise ConfigurationError(f"max_rows must be between 1 and 100000, got {max_rows}")
        if pii_conn_id is not None and (not isinstance(pii_conn_id, str) or not pii_conn_id.strip()):
            raise ConfigurationError(f"pii_conn_id must be an Airflow connection id, got {pii_conn_id!r}")
        if pii_conn_id is not None and pii_conn_id == conn_id:
            raise ConfigurationError("pii_conn_id must name another connection than conn_id (a role that may read "
                                     "the PII columns, used only for approved queries)")
        sql_overrides: dict[str, Any] = {}
        if pii_tables:
            sql_overrides["pii_tables"] = list(pii_tables)
        if pii_columns:
            sql_overrides["pii_columns"] = list(pii_columns)
        if max_tables is not None:
            sql_overrides["max_tables"] = max_tables
        envelope = dict(kwargs.pop("envelope", None) or {})
        if sql_overrides:
            envelope["sql"] = {**(envelope.get("sql") or {}), **sql_overrides}
        super().__init__(envelope=envelope, **kwargs)
        self.question = question
        self.conn_id = conn_id
        self.max_rows = max_rows
        self.pii_conn_id = pii_conn_id
        self.learn_from_approvals = bool(learn_from_approvals)
        self.answered_by: str | None = None  # who answered the approval this try resumed with

    def request_text(self) -> str:
        return self.question

    def execute_complete(self, context: Context, event: dict[str, Any], thread_id: str,
                         trace_id: str | None = None, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume with the person's answer, remembering who gave it (an approved query may become an example)."""
        from airflow_aimod.core.examples.learning import reviewer_of

        self.answered_by = reviewer_of(event)
        return super().execute_complete(context, event, thread_id, trace_id=trace_id, request=request)

    def finish(self, result: RunResult, context: Context) -> dict[str, Any]:
        """Keep a query a person approved and that ran as a verified example, then finish as every agent does."""
        from airflow_aimod.operators._learning import learn_sql, learning_on

        if self.answered_by and learning_on(self.learn_from_approvals):
            learn_sql(result.state, reviewer=self.answered_by, conn_id=self.conn_id, policy=self.envelope.sql,
                      log=self.log)
        return super().finish(result, context)

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[Warehouse]:
        """The warehouse, wrapped so PII is never sampled and approved queries run on ``pii_conn_id``."""
        from airflow_aimod.hooks.warehouse import pii_aware_executor

        policy = self.envelope.sql
        with super().open_resources(context) as warehouse:
            with pii_aware_executor(warehouse.executor, conn_id=self.conn_id, pii_conn_id=self.pii_conn_id,
                                    pii_tables=policy.pii_tables, pii_columns=policy.pii_columns) as executor:
                yield replace(warehouse, executor=executor)

    def build_graph(self, runtime: AgentRuntime, resources: Warehouse, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.sql_agent import SqlAgentTools, build_graph
        from airflow_aimod.core.schema_select import SchemaSelector
        from airflow_aimod.operators._knowledge import sql_examples, sql_vocabulary

        tools = SqlAgentTools(resources.executor, SchemaSelector(), max_rows=self.max_rows,
                              examples=sql_examples(self.conn_id), vocabulary=sql_vocabulary(self.conn_id))
        return build_graph(runtime, tools)
