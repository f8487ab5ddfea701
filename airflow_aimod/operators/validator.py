"""SchemaValidatorOperator: validate a table or query with Great Expectations, and explain the result."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators._profiles import upstream_profile
from airflow_aimod.operators._warehouse import Warehouse, WarehouseAgentOperator
from airflow_aimod.operators.base import GATE_FAIL_ON

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime

ON_FAILURE = ("fail", "warn")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


@dataclass(frozen=True)
class ValidatorSources(Warehouse):
    """The warehouse, and the upstream profile that expectations are proposed from (None without one)."""

    profile: dict[str, Any] | None = None


class SchemaValidatorOperator(WarehouseAgentOperator):
    """Validate ``table`` (or ``query``) on ``conn_id`` against an expectation suite.

    The rows are read through the read-only executor (the SQL guard checks the query), at
    most ``max_rows`` of them, into a DataFrame that Great Expectations 1.x validates in an
    ephemeral context; GX never connects to the database. With ``profile_task_id`` the agent
    also proposes expectations from an upstream ``DataProfilerOperator``'s profile; they join
    the suite only after a person approves them (``hitl=True``: on Required Actions; without
    it the task ends ``needs_approval`` with the proposals in XCom). Rejected proposals are left
    out; with no suite of your own, a rejection ends the run ``rejected``.

    :param conn_id: an Airflow connection of type sqlite or postgres.
    :param table: the table to validate (templated), e.g. ``"orders"`` or ``"sales.orders"``; or
    :param query: a read-only query whose result is validated (templated).
    :param expectations: your suite: ``[{"type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "id"}}, ...]``, checked when the DAG is parsed.
    :param profile_task_id: upstream task whose XCom ``result["profile"]`` proposals come from.
    :param max_rows: most rows read; the result says when the data was truncated.
    :param on_failure: ``"fail"``: failed expectations fail the task (the outcome is in XCom key
        ``aimod_outcome``); ``"warn"``: they are logged as a warning and the task succeeds.
    :param pii_columns: columns whose unexpected values are never reported (PII-like names never are).
    """

    agent_name = "schema_validator"
    template_fields: Sequence[str] = (*WarehouseAgentOperator.template_fields, "conn_id", "table", "query", "profile_task_id")

    def __init__(self, *, conn_id: str, table: str | None = None, query: str | None = None,
                 expectations: Iterable[Mapping[str, Any]] | None = None, profile_task_id: str | None = None,
                 max_rows: int = 100_000, on_failure: str = "fail", pii_columns: Iterable[str] = (),
                 **kwargs: Any) -> None:
        from airflow_aimod.core.validation.expectations import parse_suite

        if (table is None) == (query is None):
            raise ConfigurationError("give exactly one of table (e.g. 'orders') or query (a read-only SELECT)")
        if table is not None and "{{" not in table and not _TABLE.fullmatch(table):
            raise ConfigurationError(f"table {table!r} is not a table name; use 'table' or 'schema.table', "
                                     "or pass query=... for anything else")
        if not conn_id:
            raise ConfigurationError("conn_id is required: the connection of the database to validate")
        specs = parse_suite(expectations)
        if not specs and not profile_task_id:
            raise ConfigurationError("nothing to validate against: give expectations=[...] or profile_task_id "
                                     "(an upstream DataProfilerOperator) to propose them")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= 1_000_000:
            raise ConfigurationError(f"max_rows must be between 1 and 1000000, got {max_rows!r}")
        if on_failure not in ON_FAILURE:
            raise ConfigurationError(f"on_failure must be one of {ON_FAILURE}, got {on_failure!r}")
        if on_failure == "fail":  # a contract that cannot be checked fails like one that is broken
            kwargs.setdefault("fail_on_status", GATE_FAIL_ON)
        super().__init__(**kwargs)
        self.conn_id, self.table, self.query, self.profile_task_id = conn_id, table, query, profile_task_id
        self.expectations = [s.to_dict() for s in specs]
        self.max_rows, self.on_failure, self.pii_columns = max_rows, on_failure, list(pii_columns)

    def request_text(self) -> str:
        return f"Validate {self.subject()} against its expectation suite"

    def subject(self) -> str:
        return self.table or "the query"

    def source_sql(self) -> str:
        """The query whose rows are validated: ``query``, or every row and column of ``table``."""
        if self.query is not None:
            return self.query
        if not _TABLE.fullmatch(self.table or ""):
            raise ConfigurationError(f"table {self.table!r} (after templating) is not 'table' or 'schema.table'")
        return "SELECT * FROM " + ".".join('"' + part + '"' for part in self.table.split("."))

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[ValidatorSources]:
        """The warehouse, plus the upstream profile proposals come from (read once per try)."""
        profile = upstream_profile(context, self.profile_task_id) if self.profile_task_id else None
        with super().open_resources(context) as warehouse:
            yield ValidatorSources(warehouse.executor, warehouse.dialect, profile)

    def build_graph(self, runtime: AgentRuntime, resources: ValidatorSources, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.schema_validator import ValidatorTools, build_graph
        from airflow_aimod.core.validation.expectations import parse_suite

        tools = ValidatorTools(resources.executor, sql=self.source_sql(), subject=self.subject(),
                               expectations=parse_suite(self.expectations), profile=resources.profile,
                               max_rows=self.max_rows, pii_columns=self.pii_columns)
        return build_graph(runtime, tools)

    def finish(self, result: Any, context: Context) -> dict[str, Any]:
        """As ``AgentOperator.finish``; failed expectations then fail the task or log a warning (``on_failure``)."""
        from airflow_aimod.operators._execution import TRACE_XCOM_KEY, outcome_of

        out = outcome_of(result, self.spec)
        validation = (out.get("result") or {}).get("validation")
        if out["status"] != "answered" or not isinstance(validation, Mapping) or validation.get("success"):
            return super().finish(result, context)
        message = failure_message(self.subject(), out["reason"], out["result"].get("explanation") or "")
        if self.on_failure == "warn":
            self.log.warning("schema validation failed (on_failure='warn', the task succeeds): %s", message)
            return super().finish(result, context)
        context["ti"].xcom_push(key=TRACE_XCOM_KEY, value=out["trace_id"])
        self._fail(out, context, f"schema validation failed: {message}")


def failure_message(subject: str, reason: str, explanation: str) -> str:
    """One line saying what failed: the explanation when it already states the reason, else both."""
    explanation = " ".join(explanation.split())
    if reason and reason in explanation:
        return explanation if explanation.startswith(subject) else f"{subject}: {explanation}"
    return f"{subject}: {reason}" + (f" — {explanation}" if explanation else "")
