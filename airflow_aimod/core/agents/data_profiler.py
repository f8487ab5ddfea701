"""Tier 2 data profiler: profile a table in the database, judge its quality, explain the numbers.

Graph: ``resolve`` (``db.introspect``: the named table, or the one the request is about in the
live schema; a refusal when none fits) → ``profile`` (``core.profiling``: aggregate SQL, each
statement a guarded ``sql.read``) → ``judge`` (declared thresholds → a ``core.disagreement``
assessment) → ``explain`` (one LLM call) → end. The database computes the numbers and the
thresholds decide the verdict; the model only explains them.

PII: columns the envelope's SQL policy marks (``pii_tables``, ``pii_columns``) or whose names
look personal appear only in count-only statements (checked by ``profiling.counts_only``); those
run without a person's approval because they return no value, only counts. A column whose sampled
values look like personal data (``profiling.pii_values``) is withheld the same way; the trace says
so with the same ``pii_counts_only`` guard event, marked ``detected="by_value"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.profiling import ProfileQuery, QualityThresholds, TableProfile, TableProfiler, assess
from airflow_aimod.core.profiling import counts_only as returns_counts_only
from airflow_aimod.core.profiling.choice import choose_table
from airflow_aimod.core.profiling.profiler import DEFAULT_MAX_COLUMNS, DEFAULT_MAX_QUERIES, DEFAULT_SAMPLE_ROWS
from airflow_aimod.core.prompts import profile_messages
from airflow_aimod.core.schema import Catalog, Table
from airflow_aimod.core.state import AgentState, Status

MAX_TOP_VALUES_IN_PROMPT = 5
MAX_VALUE_CHARS_IN_PROMPT = 40


class ProfilerTools:
    """A read-only executor, the table (or ``None``: chosen from the request) and the profiling settings."""

    def __init__(self, executor: Any, *, table: str | None = None, thresholds: Any = None,
                 sample_rows: int = DEFAULT_SAMPLE_ROWS, columns: Sequence[str] | None = None,
                 max_columns: int = DEFAULT_MAX_COLUMNS, max_queries: int = DEFAULT_MAX_QUERIES) -> None:
        self.executor, self.table = executor, table
        self.thresholds = QualityThresholds.of(thresholds)
        TableProfiler(sample_rows=sample_rows, max_columns=max_columns, max_queries=max_queries, columns=columns)
        self.sample_rows, self.columns = sample_rows, columns
        self.max_columns, self.max_queries = max_columns, max_queries

    def profiler(self, dialect: str, pii_columns: Sequence[str]) -> TableProfiler:
        return TableProfiler(dialect=dialect, sample_rows=self.sample_rows, max_columns=self.max_columns,
                             max_queries=self.max_queries, columns=self.columns, pii_columns=pii_columns)


def build_graph(runtime: AgentRuntime, tools: ProfilerTools) -> StateGraph:
    """The data profiler graph, uncompiled."""
    nodes = _ProfilerNodes(runtime, tools)
    return chain(nodes, ("resolve", "profile", "judge", "explain"))


class _ProfilerNodes:
    def __init__(self, runtime: AgentRuntime, tools: ProfilerTools) -> None:
        self.rt, self.tools = runtime, tools

    def resolve(self, state: AgentState) -> dict[str, Any]:
        request = state.get("request", "")
        action = Action("db.introspect", target=self.rt.dialect, params={"table": self.tools.table})
        try:
            out = self.rt.tool(action, self.tools.executor.catalog)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("resolve", exc)
        choice = choose_table(out.value, table=self.tools.table, request=request)
        if choice.table is None:
            return self.rt.finish("resolve", Status.REFUSED, choice.reason, events=out.events)
        if missing := [c for c in self.tools.thresholds.named_columns() if choice.table.column(c) is None]:
            reason = (f"the thresholds name column(s) {', '.join(map(repr, missing))} that {choice.table.name} does "
                      f"not have; its columns: {', '.join(c.name for c in choice.table.columns)}")
            return self.rt.finish("resolve", Status.REFUSED, reason, events=out.events)
        catalog = Catalog(out.value.dialect, (choice.table,)).to_dict()
        return self.rt.update("resolve", events=out.events, work={"catalog": catalog, "choice": choice.reason})

    def profile(self, state: AgentState) -> dict[str, Any]:
        table = Catalog.from_dict(state["work"]["catalog"]).tables[0]
        events: list[dict[str, Any]] = []
        try:
            profile = self.tools.profiler(self.rt.dialect, self._pii_columns(table)).profile(
                table, lambda query: self._run(query, events))
        except ValueError as exc:
            return self.rt.finish("profile", Status.REFUSED, str(exc), events=events)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("profile", exc, events=events)
        events += [self._withheld_by_value(column.name) for column in profile.columns if column.pii_by_value]
        return self.rt.update("profile", events=events, work={"profile": profile.to_dict()})

    def judge(self, state: AgentState) -> dict[str, Any]:
        profile = TableProfile.from_dict(state["work"]["profile"])
        return self.rt.update("judge", work={"assessment": assess(profile, self.tools.thresholds)})

    def explain(self, state: AgentState) -> dict[str, Any]:
        work = state["work"]
        profile, assessment = work["profile"], work["assessment"]
        try:
            reply = self.rt.ask_json(state, profile_messages(state["request"], _shown(profile), assessment))
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("explain", exc)
        explanation = str(reply.data.get("summary") or assessment["summary"])[:2000]
        result = {"table": profile["table"], "profile": profile, "assessment": assessment,
                  "thresholds": self.tools.thresholds.to_dict(), "explanation": explanation,
                  "choice": work.get("choice")}
        return self.rt.finish("explain", Status.ANSWERED, assessment["summary"], events=reply.events,
                              token_usage=reply.usage, confidence=assessment["confidence"], rationale=explanation,
                              result=result)

    def _run(self, query: ProfileQuery, events: list[dict[str, Any]]) -> Any:
        """One profiling statement through the envelope and the SQL guard; count-only ones need no approval."""
        action = Action("sql.read", target=self.rt.dialect, params={"sql": query.sql, "purpose": query.purpose})
        exempt = returns_counts_only(query.sql, self.rt.dialect) and "sql.read" not in self.rt.envelope.require_approval
        timeout = self.rt.spec.call_timeout_s
        out = self.rt.tool(action, lambda: self.tools.executor.run(query.sql, max_rows=query.max_rows,
                                                                   timeout_s=timeout), approved=exempt)
        events += out.events
        if exempt and out.verdict.requires_approval:
            events.append(self.rt.tracer.event("guard", "pii_counts_only", purpose=query.purpose,
                                               reasons=list(out.verdict.reasons),
                                               note="count-only statement: it returns no values, so it ran "
                                                    "without a person's approval"))
        return out.value

    def _withheld_by_value(self, column: str) -> dict[str, Any]:
        """The ``pii_counts_only`` event of a column whose sampled values look like personal data."""
        return self.rt.tracer.event("guard", "pii_counts_only", column=column, detected="by_value",
                                    note="its sampled values look like personal data (e-mail, phone or card "
                                         "numbers): its values are withheld, counts only")

    def _pii_columns(self, table: Table) -> list[str]:
        """Columns the envelope's SQL policy marks PII: all of a PII table, or its listed ``table.column``s."""
        policy = self.rt.envelope.sql
        if policy is None:
            return []
        if table.name.lower() in policy.pii_tables or table.qualified_name.lower() in policy.pii_tables:
            return [c.name for c in table.columns]
        return [entry.split(".", 1)[1] for entry in policy.pii_columns if entry.split(".", 1)[0] == table.name.lower()]


def _shown(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as the prompt carries it: fewer, shorter top values per column (a wide table stays in budget)."""
    def short(value: Any) -> Any:
        return value[:MAX_VALUE_CHARS_IN_PROMPT] if isinstance(value, str) else value

    columns = [{**c, "top_values": [{**t, "value": short(t["value"])}
                                    for t in c["top_values"][:MAX_TOP_VALUES_IN_PROMPT]]} for c in profile["columns"]]
    return {**profile, "columns": columns}
