"""The profiler's SQL, built for SQLite and PostgreSQL alike: every statistic is computed in the database.

One exact ``COUNT(*)``; per chunk of columns one aggregate query (non-null and distinct counts,
min, max, mean and the value-class counts type inference needs); per numeric column one
quantile query (``ROW_NUMBER() OVER (ORDER BY c)`` rows at the interpolation positions, the same
numbers ``percentile_cont`` gives); per column one top-values query (``GROUP BY ... ORDER BY
count DESC LIMIT 10``). Above ``sample_rows`` every statistic but the row count reads a
systematic sample: every ``step``-th row by ``ROW_NUMBER() OVER ()``, deterministic and spread over
the whole table. PII columns only ever appear in count-only queries (``counts_only`` checks that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.executors.base import quote_ident
from airflow_aimod.core.profiling.profile import MAX_TOP_VALUES, QUANTILES

_SQLITE_DATE = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'"
_SQLITE_DATETIME = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]*'"
_PG_DATE = "'^[0-9]{4}-[01][0-9]-[0-3][0-9]$'"
_PG_DATETIME = "'^[0-9]{4}-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]'"
_BOOL_WORDS = "('true', 'false')"


@dataclass(frozen=True)
class ColumnPlan:
    """One column to profile: its query family (``_types.family_of``) and whether its values are withheld."""

    index: int
    name: str
    declared_type: str
    family: str
    pii: bool
    primary_key: bool = False

    @property
    def ident(self) -> str:
        return quote_ident(self.name)

    @property
    def text_safe(self) -> str:
        """The column as something every dialect can count distinct and group by."""
        return f"CAST({self.ident} AS TEXT)" if self.family == "other" else self.value

    @property
    def value(self) -> str:
        """The column as its values are read: PostgreSQL non-integer numbers as NUMERIC (``money`` has no
        AVG, and reads back as text)."""
        return f"CAST({self.ident} AS NUMERIC)" if self.family == "float" else self.ident


@dataclass(frozen=True)
class ProfileQuery:
    """One statement the profiler wants run, why, and the row cap for its result."""

    purpose: str
    sql: str
    max_rows: int = 1
    counts_only: bool = False


class QueryBuilder:
    """SQL for one table in one dialect, over every row (``step`` 0) or a systematic sample."""

    def __init__(self, source: str, dialect: str, *, step: int = 0, sample_rows: int = 0) -> None:
        self.table, self.dialect, self.step, self.sample_rows = source, dialect, step, sample_rows

    def row_count(self) -> ProfileQuery:
        return ProfileQuery("row count", f"SELECT COUNT(*) AS row_count FROM {self.table}", counts_only=True)

    def aggregates(self, plans: list[ColumnPlan], probes: dict[int, tuple[str, ...]]) -> ProfileQuery:
        """Counts (and, for non-PII columns, min/max/mean) of ``plans`` in one statement."""
        items = ["COUNT(*) AS _aimod_rows"]
        for plan in plans:
            items += self._column_items(plan, probes.get(plan.index, ()))
        names = ", ".join(p.name for p in plans)
        return ProfileQuery(f"aggregates of {names}", f"SELECT {', '.join(items)} FROM {self.source(plans)}",
                            counts_only=all(p.pii for p in plans))

    def quantiles(self, plan: ColumnPlan, non_null: int) -> tuple[ProfileQuery, dict[str, tuple[int, int, float]]]:
        """The rows at each quantile's interpolation positions, and ``{key: (low rn, high rn, weight)}``."""
        where = quantile_positions(non_null)
        wanted = sorted({rn for lo, hi, _ in where.values() for rn in (lo, hi)})
        c = plan.value
        sql = (f"SELECT _aimod_rn, v FROM (SELECT {c} AS v, ROW_NUMBER() OVER (ORDER BY {c}) AS _aimod_rn "
               f"FROM {self.source([plan])} WHERE {plan.ident} IS NOT NULL) AS _aimod_q "
               f"WHERE _aimod_rn IN ({', '.join(map(str, wanted))}) ORDER BY _aimod_rn")
        return ProfileQuery(f"quantiles of {plan.name}", sql, max_rows=len(wanted)), where

    def top_values(self, plan: ColumnPlan) -> ProfileQuery:
        e = plan.text_safe
        sql = (f"SELECT {e} AS v, COUNT(*) AS n FROM {self.source([plan])} WHERE {plan.ident} IS NOT NULL "
               f"GROUP BY {e} ORDER BY n DESC, v LIMIT {MAX_TOP_VALUES}")
        return ProfileQuery(f"top values of {plan.name}", sql, max_rows=MAX_TOP_VALUES)

    def source(self, plans: list[ColumnPlan]) -> str:
        """The table, or the systematic sample of it holding only ``plans``' columns."""
        if not self.step:
            return self.table
        cols = ", ".join(p.ident for p in plans) or "1 AS _aimod_one"
        return (f"(SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER () AS _aimod_rn FROM {self.table}) "
                f"AS _aimod_all WHERE (_aimod_rn - 1) % {self.step} = 0 LIMIT {self.sample_rows}) AS _aimod_s")

    def _column_items(self, plan: ColumnPlan, probes: tuple[str, ...]) -> list[str]:
        c, v, i = plan.ident, plan.value, plan.index
        items = [f"COUNT({c}) AS c{i}_n", f"COUNT(DISTINCT {plan.text_safe}) AS c{i}_d"]
        items += [f"COUNT(CASE WHEN {self._probe(c, probe)} THEN 1 END) AS c{i}_{probe}" for probe in probes]
        if plan.pii:
            return items
        if plan.family in ("any", "integer", "float", "date", "datetime", "text"):
            items += [f"MIN({v}) AS c{i}_min", f"MAX({v}) AS c{i}_max"]
        if plan.family == "any":
            items.append(f"AVG(CASE WHEN typeof({c}) IN ('integer', 'real') THEN {c} END) AS c{i}_mean")
        elif plan.family in ("integer", "float"):
            items.append(f"AVG({v}) AS c{i}_mean")
        return items

    def _probe(self, c: str, probe: str) -> str:
        if self.dialect == "sqlite":
            return {"int": f"typeof({c}) = 'integer'", "real": f"typeof({c}) = 'real'",
                    "date": f"typeof({c}) = 'text' AND {c} GLOB {_SQLITE_DATE}",
                    "datetime": f"typeof({c}) = 'text' AND {c} GLOB {_SQLITE_DATETIME}",
                    "bool": f"typeof({c}) = 'text' AND lower({c}) IN {_BOOL_WORDS}"}[probe]
        return {"date": f"{c} ~ {_PG_DATE}", "datetime": f"{c} ~ {_PG_DATETIME}",
                "bool": f"lower({c}) IN {_BOOL_WORDS}"}[probe]


def quantile_positions(n: int) -> dict[str, tuple[int, int, float]]:
    """Linear interpolation (type 7, as ``percentile_cont``): quantile p lies at 0-based ``h = (n-1)·p``,
    between 1-based rows ``floor(h)+1`` and ``ceil(h)+1`` with weight ``h - floor(h)``."""
    out = {}
    for key, p in QUANTILES:
        h = round((n - 1) * p, 9)
        out[key] = (math.floor(h) + 1, math.ceil(h) + 1, h - math.floor(h))
    return out


def interpolate(where: dict[str, tuple[int, int, float]], rows: dict[int, Any]) -> dict[str, float] | None:
    """Quantile values from the rows found at the positions (``None`` when a row is missing)."""
    out = {}
    for key, (lo, hi, weight) in where.items():
        if lo not in rows or hi not in rows:
            return None
        low, high = float(rows[lo]), float(rows[hi])
        out[key] = round(low + weight * (high - low), 6)
    return out


def counts_only(sql: str, dialect: str) -> bool:
    """Whether ``sql`` is one SELECT, ungrouped and unfiltered, whose every output column is a ``COUNT(...)``:
    it returns one row of numbers and no values."""
    import sqlglot
    from sqlglot import exp

    try:
        root = sqlglot.parse_one(sql, read=dialect)
    except Exception:  # noqa: BLE001 - anything unparseable is not known to be count-only
        return False
    if not isinstance(root, exp.Select) or not root.expressions:
        return False
    if any(root.args.get(clause) for clause in ("where", "group", "having")):
        return False
    return all(isinstance(e.unalias() if isinstance(e, exp.Alias) else e, exp.Count) for e in root.expressions)
