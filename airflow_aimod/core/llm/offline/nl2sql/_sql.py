"""The query model of the offline NL→SQL composer, and its rendering to SQL text.

The planner builds a ``Query``; ``render`` writes one SELECT in the target dialect
with quoted identifiers where needed, short table aliases and joins along the chosen
foreign-key edges, then checks with sqlglot that it parses as a single SELECT.
Only portable constructs are used, except date buckets, which differ per dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

import sqlglot
from sqlglot import exp

from airflow_aimod.core.llm.offline.nl2sql._joins import Edge
from airflow_aimod.core.llm.offline.nl2sql._text import split_identifier
from airflow_aimod.core.schema import Catalog


@dataclass(frozen=True)
class Col:
    table: str
    column: str


@dataclass(frozen=True)
class Product:
    left: Col
    right: Col


@dataclass(frozen=True)
class Agg:
    fn: str
    arg: Col | Product | None
    distinct: bool = False


@dataclass(frozen=True)
class Bucket:
    unit: str
    col: Col
    typed: bool


@dataclass(frozen=True)
class Out:
    """An output column referred to by its alias (ORDER BY revenue)."""

    name: str


Expr = Union[Col, Product, Agg, Bucket, Out]


@dataclass
class Cond:
    expr: Expr
    op: str
    values: tuple[Any, ...]


@dataclass
class Semi:
    """``outer IN (inner)``, or ``NOT IN`` when negated; ``inner`` selects one column."""

    outer: Col
    inner: Query
    negate: bool = False


@dataclass
class Query:
    base: str
    select: list[tuple[Expr, str | None]] = field(default_factory=list)
    joins: list[Edge] = field(default_factory=list)
    where: list[Cond | Semi] = field(default_factory=list)
    group: list[Expr] = field(default_factory=list)
    having: list[Cond] = field(default_factory=list)
    order: list[tuple[Expr, str]] = field(default_factory=list)
    limit: int | None = None
    distinct: bool = False

    def tables(self) -> list[str]:
        """Every table the statement reads, subqueries included."""
        found = [self.base] + [e.dst for e in self.joins]
        for cond in self.where:
            if isinstance(cond, Semi):
                found += cond.inner.tables()
        return list(dict.fromkeys(found))


_DEFAULT_SCHEMAS = frozenset({"public", "main"})
_RESERVED = frozenset("""
all and any as asc at between by case cast check collate column constraint create cross current default delete
desc distinct do drop else end except exists false fetch for foreign from full grant group having if in index
inner insert intersect into is join key left like limit natural not null of offset on or order outer primary
references right select set some table then to true union unique update user using values when where with
""".split())


def ident(name: str) -> str:
    """An identifier, double-quoted unless it is a plain lower-case word (portable across dialects)."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class Renderer:
    """Writes ``Query`` objects as SQL for one catalog and dialect."""

    def __init__(self, catalog: Catalog, dialect: str) -> None:
        self.catalog = catalog
        self.dialect = dialect
        self.taken: set[str] = set()

    def render(self, query: Query) -> str:
        """The SQL text, normalised by sqlglot; raises ``ValueError`` if it is not one SELECT."""
        self.taken = set()
        text = self._query(query)
        flavour = self.dialect if self.dialect in ("sqlite", "postgres") else "sqlite"
        try:
            tree = sqlglot.parse_one(text, read=flavour)
            if not isinstance(tree, exp.Select):
                raise ValueError(f"composed SQL is not a SELECT: {text}")
            return tree.sql(dialect=self.dialect)
        except sqlglot.errors.SqlglotError as exc:
            raise ValueError(f"composed SQL does not parse: {exc}") from None

    def _alias(self, table: str) -> str:
        letters = "".join(p[0] for p in split_identifier(table) if p) or "t"
        base = letters if len(letters) <= 3 else letters[:3]
        alias, n = base, 1
        while alias in self.taken or alias in _RESERVED:
            n += 1
            alias = f"{base}{n}"
        self.taken.add(alias)
        return alias

    def _table_sql(self, name: str) -> str:
        """The table's name, schema-qualified unless it lives in the default schema."""
        table = self.catalog.table(name)
        if table is not None and table.schema and table.schema.lower() not in _DEFAULT_SCHEMAS:
            return f"{ident(table.schema)}.{ident(table.name)}"
        return ident(name)

    def _query(self, q: Query) -> str:
        aliases = {q.base: self._alias(q.base)}
        joins = []
        for edge in q.joins:
            if edge.dst in aliases:
                continue
            aliases[edge.dst] = self._alias(edge.dst)
            joins.append(f"JOIN {self._table_sql(edge.dst)} AS {aliases[edge.dst]} ON "
                         f"{aliases[edge.dst]}.{ident(edge.dst_col)} = {aliases[edge.src]}.{ident(edge.src_col)}")
        sql = ["SELECT DISTINCT" if q.distinct else "SELECT",
               ", ".join(self._output(e, a, aliases) for e, a in q.select),
               f"FROM {self._table_sql(q.base)} AS {aliases[q.base]}", *joins]
        if q.where:
            sql.append("WHERE " + " AND ".join(self._cond(c, aliases) for c in q.where))
        if q.group:
            sql.append("GROUP BY " + ", ".join(self._expr(e, aliases) for e in q.group))
        if q.having:
            sql.append("HAVING " + " AND ".join(self._cond(c, aliases) for c in q.having))
        if q.order:
            sql.append("ORDER BY " + ", ".join(f"{self._expr(e, aliases)} {d.upper()}" for e, d in q.order))
        if q.limit is not None:
            sql.append(f"LIMIT {int(q.limit)}")
        return " ".join(sql)

    def _output(self, expr: Expr, alias: str | None, aliases: dict[str, str]) -> str:
        text = self._expr(expr, aliases)
        return f"{text} AS {ident(alias)}" if alias else text

    def _cond(self, cond: Cond | Semi, aliases: dict[str, str]) -> str:
        if isinstance(cond, Semi):
            keyword = "NOT IN" if cond.negate else "IN"
            return f"{self._expr(cond.outer, aliases)} {keyword} ({self._query(cond.inner)})"
        left = self._expr(cond.expr, aliases)
        if cond.op == "between":
            return f"{left} BETWEEN {literal(cond.values[0])} AND {literal(cond.values[1])}"
        if cond.op == "is not null":
            return f"{left} IS NOT NULL"
        if cond.op in ("ieq", "not ieq"):
            return f"LOWER({left}) {'<>' if cond.op == 'not ieq' else '='} {literal(str(cond.values[0]).lower())}"
        if cond.op in ("in", "not in"):
            return f"{left} {cond.op.upper()} ({', '.join(literal(v) for v in cond.values)})"
        return f"{left} {cond.op} {literal(cond.values[0])}"

    def _expr(self, expr: Expr, aliases: dict[str, str]) -> str:
        if isinstance(expr, Col):
            return f"{aliases[expr.table]}.{ident(expr.column)}"
        if isinstance(expr, Out):
            return ident(expr.name)
        if isinstance(expr, Product):
            return f"{self._expr(expr.left, aliases)} * {self._expr(expr.right, aliases)}"
        if isinstance(expr, Agg):
            inner = "*" if expr.arg is None else self._expr(expr.arg, aliases)
            return f"{expr.fn}({'DISTINCT ' if expr.distinct else ''}{inner})"
        return self._bucket(expr, self._expr(expr.col, aliases))

    def _bucket(self, bucket: Bucket, col: str) -> str:
        """Year / quarter / month / week / day of a date column, as sortable text."""
        if self.dialect == "postgres" and bucket.typed:
            fmt = {"year": "YYYY", "quarter": 'YYYY-"Q"Q', "month": "YYYY-MM", "week": 'IYYY-"W"IW',
                   "day": "YYYY-MM-DD"}[bucket.unit]
            return f"TO_CHAR({col}, '{fmt}')"
        if self.dialect == "postgres":
            width = {"year": 4, "month": 7, "day": 10}.get(bucket.unit)
            if width is None:
                raise ValueError(f"cannot bucket the text dates of {bucket.col.column} by {bucket.unit}")
            return f"SUBSTR({col}, 1, {width})"
        if bucket.unit == "quarter":
            return f"STRFTIME('%Y', {col}) || '-Q' || ((CAST(STRFTIME('%m', {col}) AS INTEGER) + 2) / 3)"
        fmt = {"year": "%Y", "month": "%Y-%m", "week": "%Y-W%W", "day": "%Y-%m-%d"}[bucket.unit]
        return f"STRFTIME('{fmt}', {col})"
