"""Conditions of the offline NL→SQL composer: which column each filter applies to, and where.

A condition on a table reached through many-to-one keys is joined in; one reached
through a one-to-many key would duplicate rows, so it becomes ``key IN (subquery)``.
Counts and sums per row of another table ("customers with more than 5 orders") are
semi-joins with GROUP BY / HAVING; "fewer than" uses NOT IN, so rows with none count.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_aimod.core.llm.offline.nl2sql._joins import Edge, JoinGraph
from airflow_aimod.core.llm.offline.nl2sql._lexicon import (
    Lexicon, Target, date_columns, is_flag, is_key, parts_of, primary_key,
)
from airflow_aimod.core.llm.offline.nl2sql._reading import Reading, Refusal, numeric_target
from airflow_aimod.core.llm.offline.nl2sql._scan import Item
from airflow_aimod.core.llm.offline.nl2sql._sql import Agg, Col, Cond, Product, Query, Semi
from airflow_aimod.core.llm.offline.nl2sql._text import CONCEPT_PARTS, split_identifier


class Infeasible(Exception):
    """This reading cannot be built from this base table (another may work)."""


@dataclass
class HavingSpec:
    """Rows of the query's table whose ``agg`` over related ``table`` rows satisfies ``op values``."""

    table: str
    agg: Agg
    op: str
    values: tuple


Spec = tuple[str, list[Cond]] | HavingSpec


class Conditions:
    """Target choice and condition placement shared by every query shape."""

    def __init__(self, lexicon: Lexicon, graph: JoinGraph, reading: Reading) -> None:
        self.lx, self.graph, self.r, self.catalog = lexicon, graph, reading, lexicon.catalog
        self.context = self._context()
        self.date_preference: list[str] = []

    def _context(self) -> set[str]:
        r = self.r
        items = [r.entity, r.ranked, *r.related, *r.dims, *r.filters, *(h[0] for h in r.having),
                 *(k[0] for k in r.keys)]
        found = set()
        for item in filter(None, items):
            best = item.best()
            found |= {t.table for t in item.targets if best and t.score >= best.score}
        return found

    def score(self, target: Target, base: str | None = None) -> float:
        """A target's score in context: mentioned tables and tables reachable from ``base`` first."""
        boost = 0.3 if target.score >= 0.8 else 0.04
        score = target.score + (boost if target.table in self.context else 0.0)
        if base is not None:
            if target.table == base:
                score += 0.2
            elif self.graph.up_only(base, target.table):
                score += 0.1
            elif self.graph.path(base, target.table) is None:
                score -= 1.0
        return score

    def ranked(self, item: Item, kinds: tuple[str, ...], base: str | None = None) -> list[Target]:
        """``item``'s targets of ``kinds``, best first."""
        return sorted((t for t in item.targets if t.kind in kinds), key=lambda t: self.score(t, base), reverse=True)

    def column(self, table: str, name: str):
        return self.catalog.table(table).column(name)

    def table_of(self, item: Item, base: str | None = None) -> str:
        ranked = self.ranked(item, ("table",), base)
        if not ranked:
            raise Refusal(f"{item.raw!r} does not name a table of the schema")
        return ranked[0].table

    # ---- condition specs -------------------------------------------------------------------------------
    def specs(self, base: str, *, entity_mode: bool) -> list[Spec]:
        """Every condition of the question, relative to ``base``; HAVING specs first."""
        found: list[Spec] = [HavingSpec(self.table_of(item, base), Agg("COUNT", None), cmp.op, cmp.values)
                             for item, cmp in self.r.having]
        found += self._compare_specs(base, entity_mode)
        self.date_preference = [s.table for s in found if isinstance(s, HavingSpec)]
        found += self._value_specs(base) + self._free_specs(base) + self._key_specs(base) + self._date_specs(base)
        found += self._exists_specs(base)
        return sorted(found, key=lambda s: not isinstance(s, HavingSpec))

    def verb_tables(self) -> list[str]:
        """Tables named by a verb ('customers who ordered…'): the event the question is about."""
        items = [i for i in (self.r.entity, *self.r.related) if i is not None and i.role in ("entity", "related")]
        return [self.table_of(i) for i in items if i.raw.lower().endswith(("ed", "ing"))]

    def _exists_specs(self, base: str) -> list[Spec]:
        """'customers who ordered': keep rows that have at least one related row."""
        return [(t, []) for t in self.verb_tables() if t != base and not self.graph.up_only(base, t)
                and self.graph.path(base, t) is not None]

    def _value_specs(self, base: str) -> list[Spec]:
        groups: dict[tuple[str, str, bool], list] = {}
        for item in self.r.filters:
            target = self.ranked(item, ("value", "flag"), base)[0]
            if target.kind == "flag":
                truth = bool(target.value) != item.negated
                kind = self.column(target.table, target.column).kind
                groups[(target.table, target.column, False)] = [truth if kind == "bool" else int(truth)]
                continue
            groups.setdefault((target.table, target.column, item.negated), []).append(target.value)
        specs: list[Spec] = []
        for (table, column, negated), values in groups.items():
            values = list(dict.fromkeys(values))
            op = ("<>" if negated else "=") if len(values) == 1 else ("not in" if negated else "in")
            specs.append((table, [Cond(Col(table, column), op, tuple(values))]))
        return specs

    def _free_specs(self, base: str) -> list[Spec]:
        specs: list[Spec] = []
        for item, raw, negated in self.r.free:
            kind = "number" if isinstance(raw, int) else "text"  # 'grade 10' filters an integer column
            texts = [t for t in self.ranked(item, ("column",), base) if self.column(t.table, t.column).kind == kind]
            target = texts[0]
            checked = kind == "number" or bool(self.column(target.table, target.column).samples)
            op = ("<>" if negated else "=") if checked else ("not ieq" if negated else "ieq")
            specs.append((target.table, [Cond(Col(target.table, target.column), op, (raw,))]))
        return specs

    def _key_specs(self, base: str) -> list[Spec]:
        specs: list[Spec] = []
        for item, number in self.r.keys:
            table = self.table_of(item, base)
            pk = primary_key(self.catalog.table(table))
            if pk is None:
                raise Refusal(f"{table} has no single-column primary key to look up {number} by")
            specs.append((table, [Cond(Col(table, pk), "=", (number,))]))
        return specs

    def _date_specs(self, base: str) -> list[Spec]:
        dates = self.r.dates
        if dates is None:
            return []
        col = self.date_column(base)
        conds = []
        if dates.start is not None:
            conds.append(Cond(col, ">=", (dates.start.isoformat(),)))
        if dates.end is not None:
            conds.append(Cond(col, "<", (dates.end.isoformat(),)))
        return [(col.table, conds)]

    def date_column(self, base: str) -> Col:
        """The date column a date range applies to: named, verb table ('ordered'), base, then nearest."""
        if self.r.date_hint is not None:
            target = self.ranked(self.r.date_hint, ("column",), base)[0]
            return Col(target.table, target.column)
        verbs = self.verb_tables() + self.date_preference
        reach = sorted(self.graph.paths(base), key=lambda t: (not self.graph.up_only(base, t),
                                                             len(self.graph.path(base, t) or ())))
        for table in dict.fromkeys(verbs + [base] + reach):
            columns = date_columns(self.catalog.table(table))
            if columns:
                own = set(parts_of(table))
                columns.sort(key=lambda c: not (set(parts_of(c.name)) & (own | {"creat", "dat"})))
                return Col(table, columns[0].name)
        raise Refusal(f"no date column is linked to {base}, so '{self.r.dates.text}' cannot be applied")

    def _compare_specs(self, base: str, entity_mode: bool) -> list[Spec]:
        specs: list[Spec] = []
        for target_item, table_item, cmp in self.r.compares:
            if target_item is not None:
                targets = [t for t in self.ranked(target_item, ("column", "derived"), base)
                           if numeric_target(t, self.lx)]
                target = targets[0]
                expr = self.measure_expr(target)
            else:
                table = self.table_of(table_item, base) if table_item is not None else base
                expr = self.default_number(table, cmp.text)
                target = Target("column", table, expr.column)
            aggregate = target_item is not None and entity_mode and not self.graph.up_only(base, target.table)
            if aggregate:
                specs.append(HavingSpec(target.table, Agg("SUM", expr), cmp.op, cmp.values))
            else:
                specs.append((target.table, [Cond(expr, cmp.op, cmp.values)]))
        return specs

    @staticmethod
    def measure_expr(target: Target) -> Col | Product:
        if target.kind == "derived":
            return Product(Col(target.table, target.column), Col(target.table, target.other))
        return Col(target.table, target.column)

    def default_number(self, table: str, phrase: str) -> Col:
        """The numeric column a bare comparison ('orders over 500') most likely means."""
        t = self.catalog.table(table)
        numbers = [c for c in t.columns if c.kind == "number" and not is_key(t, c) and not is_flag(c)]
        for wanted in (CONCEPT_PARTS["money"], CONCEPT_PARTS["price"], CONCEPT_PARTS["pay"]):
            hits = [c for c in numbers if set(split_identifier(c.name)) & wanted]
            if hits:
                return Col(table, hits[0].name)
        if len(numbers) == 1:
            return Col(table, numbers[0].name)
        raise Refusal(f"I could not tell which number of {table} '{phrase}' applies to; name the column")

    # ---- placement ---------------------------------------------------------------------------------------
    def place(self, q: Query, specs: list[Spec], *, join_down: bool) -> None:
        """Attach conditions to ``q``: joined in, or as IN-subqueries across one-to-many keys."""
        semis: dict[tuple[Edge, str], Semi] = {}
        for spec in specs:
            table = spec.table if isinstance(spec, HavingSpec) else spec[0]
            path = self.graph.path(q.base, table)
            if path is None:
                raise Infeasible(f"{table} is not linked to {q.base} by foreign keys")
            cut = next((i for i, e in enumerate(path) if not e.up), None)
            if not isinstance(spec, HavingSpec) and (cut is None or join_down or _joined(q, path)):
                add_joins(q, path)
                q.where.extend(spec[1])
                continue
            if cut is None:
                raise Infeasible(f"each {q.base} row has at most one {table}; there is nothing to count per row")
            add_joins(q, path[:cut])
            semi = self._semi(semis, path[cut], spec)
            if isinstance(spec, HavingSpec):
                _apply_having(semi, spec, path[cut + 1:])
            else:
                self.place(semi.inner, [spec], join_down=False)
        q.where.extend(semis.values())

    @staticmethod
    def _semi(semis: dict, edge: Edge, spec: Spec) -> Semi:
        key = (edge, "having" if isinstance(spec, HavingSpec) else "plain")
        if key not in semis and (edge, "having") in semis:
            key = (edge, "having")
        if key not in semis:
            inner = Query(base=edge.dst, select=[(Col(edge.dst, edge.dst_col), None)])
            semis[key] = Semi(Col(edge.src, edge.src_col), inner)
        return semis[key]


def _joined(q: Query, path: list[Edge]) -> bool:
    tables = {q.base} | {e.dst for e in q.joins}
    return all(e.dst in tables for e in path)


def add_joins(q: Query, path: list[Edge]) -> None:
    tables = {q.base} | {e.dst for e in q.joins}
    for edge in path:
        if edge.dst not in tables:
            q.joins.append(edge)
            tables.add(edge.dst)


def _apply_having(semi: Semi, spec: HavingSpec, rest: list[Edge]) -> None:
    inner = semi.inner
    add_joins(inner, rest)
    key = inner.select[0][0]
    inner.group = [key]
    if spec.op in ("<", "<="):
        semi.negate = True
        inner.where.append(Cond(key, "is not null", ()))
        inner.having.append(Cond(spec.agg, {"<": ">=", "<=": ">"}[spec.op], spec.values))
    else:
        inner.having.append(Cond(spec.agg, spec.op, spec.values))
