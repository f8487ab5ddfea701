"""Tier 3 feature engineer: propose features for a target from a table's profile, measure each, report those
that help.

Graph: ``resolve`` (``db.introspect``: the profiled table and the target in the live schema) → ``propose``
(one LLM call: SQL expressions over that table, from the profile) → ``vet`` (each proposal wrapped in a
``SELECT … FROM <table>`` and checked by the SQL guard: one read-only expression over that table only, never
the target; a statement such as ``CREATE TABLE`` is checked as itself, refused, never run) → ``load``
(one guarded, read-only, row-capped query: the table's columns and every vetted expression) → ``measure``
(``ml.feature_lift``: repeated CV with and without each feature on the same folds; only lifts above the
declared minimum and beyond the fold noise are reported) → end. The model proposes; the guard and the
numbers decide what is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langgraph.graph import StateGraph

from airflow_aimod.core.agents.edges import chain
from airflow_aimod.core.agents.runtime import AgentRuntime, is_expected_failure
from airflow_aimod.core.ml.feature_lift import LiftRule
from airflow_aimod.core.ml.feature_proposals import FeatureProposal, parse_proposals, quote
from airflow_aimod.core.permissions import Action
from airflow_aimod.core.prompts import feature_messages
from airflow_aimod.core.state import AgentState, Status
from airflow_aimod.exceptions import StepFailed

STATEMENT = re.compile(r"^\s*(create|drop|alter|insert|update|delete|merge|truncate|grant|revoke|replace|attach|"
                       r"detach|pragma|vacuum|copy|comment|refresh|reindex|call|do)\b", re.I)
"""A proposal that starts like a statement is checked as the statement it is (the guard refuses writes and DDL;
the envelope denies ``sql.write`` whatever the guard says) and is never run: a feature is an expression."""
PROFILE_KEYS = ("name", "inferred_type", "null_rate", "distinct_count", "min", "max", "mean", "quantiles",
                "top_values", "pii", "pii_by_value", "primary_key", "unique")


class FeatureTools:
    """A read-only executor, the upstream ``profile`` (a ``TableProfile.to_dict()``), the ``target`` column and
    how proposals are measured (``rule``), within ``max_rows`` and ``max_proposals``."""

    def __init__(self, executor: Any, *, profile: Mapping[str, Any], target: str, rule: LiftRule | None = None,
                 task: str = "auto", max_rows: int = 20_000, max_proposals: int = 24) -> None:
        if not isinstance(profile, Mapping) or not profile.get("table") or not profile.get("columns"):
            raise ValueError("the profile must be a data profiler's result['profile'] (a table and its columns)")
        self.executor, self.profile, self.target, self.rule = executor, dict(profile), target, rule or LiftRule()
        self.task, self.max_rows, self.max_proposals = task, max_rows, max_proposals


def build_graph(runtime: AgentRuntime, tools: FeatureTools) -> StateGraph:
    """The feature engineer graph, uncompiled."""
    return chain(_FeatureNodes(runtime, tools), ("resolve", "propose", "vet", "load", "measure"))


def table_sql(table: str) -> str:
    """``table`` or ``schema.table``, each part quoted."""
    return ".".join(quote(part) for part in table.split("."))


def alone_sql(expression: str, table: str) -> str:
    """One proposal read on its own. The parentheses keep it one expression: a comment, an alias or a second
    column in it breaks the statement (the guard refuses it) instead of reshaping the query."""
    return f"SELECT ({expression}) AS {quote('aimod_feature')} FROM {table_sql(table)}"


class _FeatureNodes:
    def __init__(self, runtime: AgentRuntime, tools: FeatureTools) -> None:
        self.rt, self.tools = runtime, tools

    def resolve(self, state: AgentState) -> dict[str, Any]:
        t, name = self.tools, self.tools.profile["table"]
        try:
            out = self.rt.tool(Action("db.introspect", target=self.rt.dialect, params={"table": name}),
                               t.executor.catalog)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("resolve", exc)
        table = out.value.table(name)
        if table is None:
            return self.rt.finish("resolve", Status.REFUSED, f"the profiled table {name!r} is not in the live schema",
                                  events=out.events)
        live = {c.name.lower() for c in table.columns}
        if t.target.lower() not in live:
            return self.rt.finish("resolve", Status.REFUSED, f"target {t.target!r} is not a column of {name}; its "
                                  f"columns: {', '.join(c.name for c in table.columns)}", events=out.events)
        pii = self._policy_pii(name)
        columns = [{k: c.get(k) for k in PROFILE_KEYS} for c in t.profile["columns"]
                   if str(c.get("name")).lower() in live]
        columns = [{**c, "pii": bool(c["pii"] or c["name"].lower() in pii)} for c in columns]
        return self.rt.update("resolve", events=out.events, work={"table": name, "columns": columns})

    def propose(self, state: AgentState) -> dict[str, Any]:
        t, work = self.tools, state["work"]
        prompt = feature_messages(state["request"], table=work["table"], target=t.target, dialect=self.rt.dialect,
                                  columns=work["columns"], max_proposals=t.max_proposals)
        try:
            reply = self.rt.ask_json(state, prompt)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.fail_safe("propose", exc)
        proposals = parse_proposals(reply.data, max_proposals=t.max_proposals)
        if not proposals:
            why = str(reply.data.get("refusal") or "the model proposed no feature")[:500]
            return self.rt.finish("propose", Status.REFUSED, why, events=reply.events, token_usage=reply.usage,
                                  result=self._result(work, {}, [], [], []))
        return self.rt.update("propose", events=reply.events, token_usage=reply.usage, confidence=reply.confidence,
                              work={"proposals": [p.to_dict() for p in proposals]})

    def vet(self, state: AgentState) -> dict[str, Any]:
        work, events, vetted, blocked = state["work"], [], [], []
        for item in work["proposals"]:
            reason, found = self._vet_one(FeatureProposal(**{**item, "columns": tuple(item["columns"])}), work)
            events += found
            if reason:
                blocked.append({**item, "blocked": reason})
            else:
                vetted.append(item)
        if not vetted:
            reason = f"all {len(blocked)} proposals were blocked: {blocked[0]['blocked']}"
            return self.rt.finish("vet", Status.REFUSED, reason, events=events,
                                  result=self._result(work, {}, [], [], blocked))
        return self.rt.update("vet", events=events, work={"vetted": vetted, "blocked": blocked})

    def _vet_one(self, proposal: FeatureProposal, work: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        """Why ``proposal`` may not run (None: it may), and the guard events that said so."""
        statement = STATEMENT.match(proposal.sql)
        sql = proposal.sql if statement else alone_sql(proposal.sql, work["table"])
        verdict, event = self.rt.check(Action("sql.read", target=self.rt.dialect, params={"sql": sql}))
        if not verdict.allowed or statement:
            why = "; ".join(verdict.reasons) or "a statement, not an expression"
            return ("a statement, not an expression — " if statement else "") + "SQL guard: " + why, [event]
        if verdict.requires_approval:
            return "needs a person's approval (" + "; ".join(verdict.reasons) + ")", [event]
        tables = {str(x).lower().split(".")[-1] for x in verdict.details.get("tables") or ()}
        if tables != {work["table"].lower().split(".")[-1]}:
            return f"reads other tables ({', '.join(sorted(tables))}), not only {work['table']}", [event]
        one, columns = _shape(sql, self.rt.dialect)
        if not one:
            return "not one expression (it holds an alias, a list or several columns)", [event]
        if self.tools.target.lower() in columns:
            return f"reads the target {self.tools.target!r}: a leak, not a feature", [event]
        return None, [event]

    def load(self, state: AgentState) -> dict[str, Any]:
        work, events, vetted, failed = state["work"], [], list(state["work"]["vetted"]), []
        while vetted:
            sql = self._load_sql(work, vetted)
            try:
                out = self.rt.tool(Action("sql.read", target=self.rt.dialect, params={"sql": sql}),
                                   lambda: self.tools.executor.run(sql, max_rows=self.tools.max_rows,
                                                                   timeout_s=self.rt.spec.call_timeout_s))
            except StepFailed as exc:  # read each expression alone: those that fail leave, the rest is read again
                events += exc.events
                vetted, failing = self._split_failing(work, vetted, events)
                if not failing:
                    return self.rt.fail_safe("load", exc, events=events)
                failed += failing
                continue
            data = {k: list(v) for k, v in zip(out.value.columns, zip(*out.value.rows))} if out.value.rows else {}
            return self.rt.update("load", events=[*events, *out.events], work={
                "vetted": vetted, "blocked": [*work["blocked"], *failed], "data": data, "sql": sql,
                "truncated": bool(out.value.truncated), "rows_read": len(out.value.rows)})
        blocked = [*work["blocked"], *failed]
        return self.rt.finish("load", Status.REFUSED, "every vetted proposal fails on this table's data",
                              events=events, result=self._result(work, {}, [], [], blocked))

    def _load_sql(self, work: dict[str, Any], vetted: list[dict[str, Any]]) -> str:
        """The table's non-PII columns, the target and every vetted expression (aliased ``aimod_f<i>``)."""
        base = [c["name"] for c in work["columns"] if not (c["pii"] or c.get("pii_by_value"))]
        if self.tools.target.lower() not in {b.lower() for b in base}:
            base.append(self.tools.target)
        exprs = [f"({p['sql']}) AS {quote(f'aimod_f{i}')}" for i, p in enumerate(vetted)]
        return f"SELECT {', '.join([*map(quote, base), *exprs])} FROM {table_sql(work['table'])}"

    def _split_failing(self, work: dict[str, Any], vetted: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple:
        """Each expression read alone (a few rows): those that fail leave, with the database's error."""
        ok, failed = [], []
        for p in vetted:
            sql = alone_sql(p["sql"], work["table"])
            try:
                out = self.rt.tool(Action("sql.read", target=self.rt.dialect, params={"sql": sql}),
                                   lambda sql=sql: self.tools.executor.run(sql, max_rows=self.tools.max_rows,
                                                                           timeout_s=self.rt.spec.call_timeout_s))
                events += out.events
                ok.append(p)
            except StepFailed as exc:
                events += exc.events
                failed.append({**p, "blocked": f"fails on the data: {str(exc.cause)[:200]}"})
        return ok, failed

    def measure(self, state: AgentState) -> dict[str, Any]:
        from airflow_aimod.core.ml.feature_lift import FeatureLift
        from airflow_aimod.core.ml.training import frame_from_columns

        work, t = state["work"], self.tools
        names = [f"aimod_f{i}" for i in range(len(work["vetted"]))]
        try:
            found = FeatureLift(t.rule).measure(frame_from_columns(work["data"]), target=t.target, features=names,
                                                task=t.task)
        except Exception as exc:
            if not is_expected_failure(exc):
                raise
            return self.rt.finish("measure", Status.REFUSED, str(exc)[:500],
                                  result=self._result(work, {}, [], [], work["blocked"]))
        helped, rejected = [], []
        for name, proposal in zip(names, work["vetted"]):
            measured = {**proposal, **found["features"][name]}
            (helped if measured["helps"] else rejected).append(measured)
        helped.sort(key=lambda p: -p["lift"])
        return self.rt.finish("measure", Status.ANSWERED, self._reason(found, helped, rejected, work),
                              result=self._result(work, found, helped, rejected, work["blocked"]), work={"data": None})

    def _reason(self, found: dict[str, Any], helped: list, rejected: list, work: dict[str, Any]) -> str:
        sample = (f" (measured on a sample: the first {work['rows_read']} rows, max_rows={self.tools.max_rows})"
                  if work.get("truncated") else f" (measured on all {found['rows']} rows)")
        if not helped:
            return f"none of the {len(rejected)} measured proposals improves {found['scoring']} beyond CV noise{sample}"
        best = ", ".join(f"{p['name']} (+{p['lift']:.3g})" for p in helped[:5])
        return f"{len(helped)} of {len(helped) + len(rejected)} proposals improve {found['scoring']}: {best}{sample}"

    def _result(self, work: dict[str, Any], found: dict[str, Any], helped: list, rejected: list,
                blocked: list) -> dict[str, Any]:
        return {"table": work.get("table"), "target": self.tools.target, "task": found.get("task"),
                "scoring": found.get("scoring"), "baseline": found.get("baseline"), "features": helped,
                "rejected": rejected, "blocked": blocked,
                "rule": self.tools.rule.to_dict(), "rows": found.get("rows"), "sql": work.get("sql"),
                "truncated": bool(work.get("truncated"))}

    def _policy_pii(self, table: str) -> set[str]:
        policy, bare = self.rt.envelope.sql, table.lower().split(".")[-1]
        if policy is None:
            return set()
        if bare in policy.pii_tables or table.lower() in policy.pii_tables:
            return {str(c.get("name")).lower() for c in self.tools.profile["columns"]}
        return {e.split(".", 1)[1] for e in policy.pii_columns if e.split(".", 1)[0] == bare}


def _shape(sql: str, dialect: str) -> tuple[bool, set[str]]:
    """Whether ``alone_sql``'s single projection is one expression (no alias, tuple or second column inside it),
    and the lower-case names of the columns it references (the guard already parsed it: this cannot fail)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=dialect)
    projections = tree.expressions
    inner = projections[0].this if len(projections) == 1 and isinstance(projections[0], exp.Alias) else None
    one = inner is not None and not any(isinstance(n, (exp.Alias, exp.Tuple)) for n in inner.walk())
    return one, {c.name.lower() for c in tree.find_all(exp.Column)}
