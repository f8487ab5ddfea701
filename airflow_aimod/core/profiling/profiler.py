"""``TableProfiler``: a table's profile computed in the database, within a bounded number of queries.

The profiler builds the queries (``_queries``) and reads their results; the caller runs them,
so an agent passes every statement through its envelope and the SQL guard first. Columns
marked PII (by the envelope's SQL policy or by name, ``executors.base.looks_like_pii``) get
counts only: null and distinct counts and the inferred type, never a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

from airflow_aimod.core.executors.base import QueryResult, looks_like_pii, quote_ident
from airflow_aimod.core.profiling.pii_values import any_pii_value
from airflow_aimod.core.profiling._queries import ColumnPlan, ProfileQuery, QueryBuilder, interpolate
from airflow_aimod.core.profiling._types import NUMERIC, ORDERED, family_of, infer_type, probes_of
from airflow_aimod.core.profiling.limits import DEFAULT_MAX_COLUMNS, DEFAULT_MAX_QUERIES, DEFAULT_SAMPLE_ROWS, check_limits
from airflow_aimod.core.profiling.profile import ColumnProfile, TableProfile
from airflow_aimod.core.schema import Table

COLUMNS_PER_QUERY = 20
MAX_VALUE_CHARS = 200

RunQuery = Callable[[ProfileQuery], QueryResult]


class TableProfiler:
    """Profile one table: exact row count, per-column statistics on every row or a systematic sample."""

    def __init__(self, *, dialect: str = "sqlite", sample_rows: int = DEFAULT_SAMPLE_ROWS,
                 max_columns: int = DEFAULT_MAX_COLUMNS, max_queries: int = DEFAULT_MAX_QUERIES,
                 columns: Sequence[str] | None = None, pii_columns: Collection[str] = ()) -> None:
        """``columns``: profile only these (default: all, at most ``max_columns``); ``pii_columns``: column
        names (bare) whose values are withheld, besides the ones whose names look like PII."""
        check_limits(sample_rows=sample_rows, max_columns=max_columns, max_queries=max_queries, columns=columns)
        self.dialect, self.sample_rows = dialect, sample_rows
        self.max_columns, self.max_queries = max_columns, max_queries
        self.columns = None if columns is None else tuple(columns)
        self.pii_columns = frozenset(c.lower() for c in pii_columns)

    def plan(self, table: Table) -> tuple[list[ColumnPlan], list[str]]:
        """The columns to profile and the ones skipped (beyond ``max_columns``); unknown names fail."""
        wanted = list(table.columns)
        if self.columns is not None:
            missing = [c for c in self.columns if table.column(c) is None]
            if missing:
                raise ValueError(f"{table.name} has no column {', '.join(map(repr, missing))}; its columns: "
                                 f"{', '.join(c.name for c in table.columns)}")
            wanted = [table.column(c) for c in dict.fromkeys(self.columns)]  # type: ignore[misc]
        kept, skipped = wanted[:self.max_columns], [c.name for c in wanted[self.max_columns:]]
        plans = [ColumnPlan(i, c.name, c.type, family_of(c.type, self.dialect), self._is_pii(c.name), c.primary_key)
                 for i, c in enumerate(kept)]
        return plans, skipped

    def profile(self, table: Table, run: RunQuery) -> TableProfile:
        """Run the profile's queries through ``run`` and assemble the profile."""
        plans, skipped = self.plan(table)
        source = quote_ident(table.name) if not table.schema else \
            f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
        budget = _Budget(run, self.max_queries)
        row_count = int(budget.run(QueryBuilder(source, self.dialect).row_count()).rows[0][0])
        step = math.ceil(row_count / self.sample_rows) if row_count > self.sample_rows else 0
        builder = QueryBuilder(source, self.dialect, step=step, sample_rows=self.sample_rows)
        stats, profiled = self._aggregates(builder, plans, budget)
        profiled = row_count if not step else profiled
        notes = [] if not step else [f"statistics computed on a systematic sample of {profiled:,} of {row_count:,} "
                                     f"rows (1 row in {step}); row_count is exact"]
        columns = [self._column(builder, plan, stats[plan.index], profiled, budget) for plan in plans]
        notes += budget.notes()
        if skipped:
            notes.append(f"{len(skipped)} column(s) not profiled (max_columns={self.max_columns}): "
                         f"{', '.join(skipped)}")
        name = table.name if table.schema in (None, "public") else table.qualified_name  # public: the default path
        return TableProfile(table=name, row_count=row_count, profiled_rows=profiled,
                            columns=tuple(columns), skipped_columns=tuple(skipped), notes=tuple(notes),
                            queries=budget.used)

    def _is_pii(self, column: str) -> bool:
        return column.lower() in self.pii_columns or looks_like_pii(column)

    def _aggregates(self, builder: QueryBuilder, plans: list[ColumnPlan],
                    budget: _Budget) -> tuple[dict[int, dict[str, Any]], int]:
        """Per-column aggregates, PII columns in count-only statements of their own."""
        stats: dict[int, dict[str, Any]] = {}
        profiled = 0
        for group in ([p for p in plans if not p.pii], [p for p in plans if p.pii]):
            for start in range(0, len(group), COLUMNS_PER_QUERY):
                chunk = group[start:start + COLUMNS_PER_QUERY]
                result = budget.run(builder.aggregates(chunk, {p.index: probes_of(p.family) for p in chunk}))
                row = dict(zip(result.columns, result.rows[0]))
                profiled = int(row["_aimod_rows"])
                for plan in chunk:
                    prefix = f"c{plan.index}_"
                    stats[plan.index] = {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix)}
        return stats, profiled

    def _column(self, builder: QueryBuilder, plan: ColumnPlan, raw: dict[str, Any], profiled: int,
                budget: _Budget) -> ColumnProfile:
        non_null, distinct = int(raw.get("n") or 0), int(raw.get("d") or 0)
        inferred = infer_type(plan.family, plan.declared_type, raw)
        unique = non_null > 0 and distinct == non_null
        nulls = profiled - non_null
        common = {"name": plan.name, "declared_type": plan.declared_type, "inferred_type": inferred,
                  "null_count": nulls, "null_rate": round(nulls / profiled, 6) if profiled else 0.0,
                  "distinct_count": distinct, "pii": plan.pii, "primary_key": plan.primary_key, "unique": unique}
        if plan.pii or non_null == 0:
            return ColumnProfile(**common)
        ordered = inferred in ORDERED
        mean = raw.get("mean") if inferred in NUMERIC else None
        quantiles = self._quantiles(builder, plan, non_null, budget) if inferred in NUMERIC else None
        top = [] if unique else self._top_values(builder, plan, budget)
        if any_pii_value([raw.get("min"), raw.get("max"), *(t["value"] for t in top)]):
            return ColumnProfile(**{**common, "pii": True}, pii_by_value=True)  # withheld as a declared PII column
        return ColumnProfile(**common, min=raw.get("min") if ordered else None, max=raw.get("max") if ordered else None,
                             mean=None if mean is None else round(float(mean), 6), quantiles=quantiles, top_values=top)

    @staticmethod
    def _quantiles(builder: QueryBuilder, plan: ColumnPlan, non_null: int, budget: _Budget) -> dict[str, float] | None:
        query, where = builder.quantiles(plan, non_null)
        result = budget.optional(query)
        return None if result is None else interpolate(where, {int(rn): v for rn, v in result.rows})

    @staticmethod
    def _top_values(builder: QueryBuilder, plan: ColumnPlan, budget: _Budget) -> list[dict[str, Any]]:
        result = budget.optional(builder.top_values(plan))
        if result is None:
            return []
        return [{"value": v[:MAX_VALUE_CHARS] if isinstance(v, str) else v, "count": int(n)} for v, n in result.rows]


class _Budget:
    """Counts the queries run; optional ones (quantiles, top values) stop at ``max_queries``."""

    def __init__(self, run: RunQuery, max_queries: int) -> None:
        self._run, self.max_queries, self.used = run, max_queries, 0
        self.dropped: list[str] = []

    def run(self, query: ProfileQuery) -> QueryResult:
        self.used += 1
        return self._run(query)

    def optional(self, query: ProfileQuery) -> QueryResult | None:
        if self.used >= self.max_queries:
            self.dropped.append(query.purpose)
            return None
        return self.run(query)

    def notes(self) -> list[str]:
        if not self.dropped:
            return []
        return [f"query budget of {self.max_queries} reached; not computed: {', '.join(self.dropped)}"]
