"""Third pass of the offline NL→SQL composer: choose tables and columns, shape the query.

Shapes: an aggregate (optionally grouped and ranked), a ranked listing ("the most
expensive product"), or a plain listing. Each candidate measure is tried as the base
table; joins to group-by tables must not duplicate measured rows, so a sum of order
totals is never grouped through order lines. The best feasible candidate wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_aimod.core.llm.offline.nl2sql._lexicon import Target, label_columns, primary_key
from airflow_aimod.core.llm.offline.nl2sql._place import Conditions, Infeasible, add_joins
from airflow_aimod.core.llm.offline.nl2sql._reading import Refusal, numeric_target
from airflow_aimod.core.llm.offline.nl2sql._scan import Item
from airflow_aimod.core.llm.offline.nl2sql._sql import Agg, Bucket, Col, Out, Product, Query, Semi
from airflow_aimod.core.llm.offline.nl2sql._text import (
    CONCEPT_PARTS, CONCEPT_WORDS, QUANTITY_PARTS, singular, split_identifier, stem,
)

MONEY_PARTS = CONCEPT_PARTS["money"]
DEFAULT_LIMIT = 100


@dataclass
class Option:
    """One way to compute the measure: ``agg`` of ``arg`` over rows of ``table``."""

    agg: str
    table: str
    arg: Col | Product | None
    distinct: bool
    score: float
    alias: str
    label: str


def _plural(item: Item | None) -> bool:
    last = item.text.split()[-1] if item is not None and item.text else ""
    return last.endswith("s") and stem(last) != last and not last.endswith("ss")


class Planner(Conditions):
    """Turns a ``Reading`` into a ``Query``."""

    def __init__(self, *args, max_tables: int | None = None) -> None:
        super().__init__(*args)
        self.max_tables = max_tables
        self.chosen: Option | None = None
        self.shape = ""
        self.notes: list[str] = []
        self.extra_dims: list[str] = []

    def plan(self) -> Query:
        r = self.r
        if r.rank and r.ranked is not None and not r.dims and not r.bucket:
            return self._rank()
        if r.agg or r.dims or r.bucket:
            self.shape = "aggregate"
            return self._best(self._aggregate, self._options())
        if r.rank:
            return self._rank()
        self.shape = "list"
        return self._sized(self._list())

    # ---- choosing among candidates ---------------------------------------------------------------------
    def _best(self, build, options: list[Option]) -> Query:
        built, errors = [], []
        for option in options:
            try:
                query = self._sized(build(option))
            except Infeasible as exc:
                errors.append(str(exc))
                continue
            semis = sum(isinstance(c, Semi) for c in query.where) if self.shape == "aggregate" else 0
            built.append((option.score - 0.02 * len(query.tables()) - 0.2 * semis, option, query))
        if not built:
            errors.sort(key=lambda e: "limit" not in e)
            raise Refusal("; ".join(list(dict.fromkeys(errors))[:2]) or "nothing in the schema can answer this")
        built.sort(key=lambda b: -b[0])
        if len(built) > 1 and built[0][0] - built[1][0] < 0.05 and built[0][1].label != built[1][1].label:
            self.notes.append(f"ambiguous: {built[0][1].label} or {built[1][1].label}")
        self.chosen = built[0][1]
        return built[0][2]

    def _sized(self, query: Query) -> Query:
        count = len(query.tables())
        if self.max_tables is not None and count > self.max_tables:
            raise Infeasible(f"the query needs {count} tables (limit {self.max_tables})")
        return query

    def _options(self) -> list[Option]:
        item = self.r.measure
        if item is None and self.r.rank and self.r.sold and self.lx.quantity_targets():
            self.notes.append("'selling' read as units sold")
            return [self._numeric_option(t, "sum", None) for t in self.lx.quantity_targets()]
        if item is None:
            table = self._subject_table()
            return [Option("count", table, None, False, 1.0, f"{singular(table)}_count", f"COUNT(*) of {table}")]
        if self.r.agg == "count" or item.role == "counted":
            return self._count_options(item)
        return self._numeric_options(item, self.r.agg)

    def _subject_table(self) -> str:
        r = self.r
        for item in [r.entity, *r.dims, *r.filters, *(f[0] for f in r.free)]:
            if item is not None:
                best = self.ranked(item, ("table", "column", "value", "flag"))
                if best:
                    return best[0].table
        raise Refusal("I could not tell what to count: name a table of the schema")

    def _count_options(self, item: Item) -> list[Option]:
        options = []
        targets = self.ranked(item, ("table", "column"))
        if not targets:
            raise Refusal(f"I could not tell what {item.raw!r} counts")
        for target in [t for t in targets if self.score(t) >= self.score(targets[0]) - 0.1][:4]:
            if target.kind == "table":
                options.append(Option("count", target.table, None, False, self.score(target),
                                      f"{singular(target.table)}_count", f"COUNT(*) of {target.table}"))
            else:
                col = Col(target.table, target.column)
                options.append(Option("count", target.table, col, True, self.score(target),
                                      f"{singular(target.column)}_count",
                                      f"COUNT(DISTINCT {target.table}.{target.column})"))
        return options

    def _numeric_options(self, item: Item, agg: str | None) -> list[Option]:
        targets = [t for t in self.ranked(item, ("column", "derived")) if numeric_target(t, self.lx)]
        if targets:
            top = targets[0]
            targets = [t for t in targets if self.score(t) >= self.score(top) - 0.1
                       or (t.concept is not None and t.concept == top.concept)][:6]
        return [self._numeric_option(t, agg or self._default_agg(t), item) for t in targets]

    def _numeric_option(self, target: Target, agg: str, item: Item | None) -> Option:
        expr = self.measure_expr(target)
        word = item.text if item is not None and stem(item.text) in CONCEPT_WORDS["money"] else None
        column = target.column if target.kind == "column" else "value"
        if agg == "sum":
            alias = word or (column if column.startswith("total") else f"total_{column}")
        else:
            alias = f"{agg}_{word or column}"
        return Option(agg, target.table, expr, False, self.score(target), alias.replace(" ", "_"),
                      f"{agg.upper()}({target.describe()})")

    @staticmethod
    def _default_agg(target: Target) -> str:
        parts = set(split_identifier(target.column or ""))
        additive = target.kind == "derived" or target.concept == "money" or parts & (QUANTITY_PARTS | MONEY_PARTS)
        return "sum" if additive else "avg"

    # ---- aggregates --------------------------------------------------------------------------------------
    def _aggregate(self, option: Option) -> Query:
        q = Query(base=option.table)
        dims, fanout = self._dims(q)
        measure = Agg(option.agg.upper(), option.arg, option.distinct)
        if fanout and option.agg == "count" and option.arg is None:
            pk = primary_key(self.catalog.table(option.table))
            if pk is None:
                raise Infeasible(f"{option.table} has no key to count distinct rows by")
            measure = Agg("COUNT", Col(option.table, pk), True)
        elif fanout and option.agg not in ("count", "min", "max"):
            raise Infeasible(f"{option.label} grouped that way would count some {option.table} rows twice")
        q.select = dims + [(measure, option.alias)]
        q.group = [expr for expr, _ in dims]
        self.place(q, self.specs(q.base, entity_mode=False), join_down=False)
        self._order(q, option, dims)
        return q

    def _dims(self, q: Query) -> tuple[list, bool]:
        out, fanout = [], False
        for table, target in self._dim_targets(q.base):
            path = self.graph.path(q.base, table)
            if path is None:
                raise Infeasible(f"{table} is not linked to {q.base} by foreign keys")
            fanout |= not self.graph.up_only(q.base, table)
            add_joins(q, path)
            out += [(Col(table, target.column), None)] if target.kind == "column" else self._entity_columns(table)
        if self.r.bucket:
            col = self.date_column(q.base)
            fanout |= not self.graph.up_only(q.base, col.table)
            add_joins(q, self.graph.path(q.base, col.table) or [])
            out.append((Bucket(self.r.bucket, col, self.column(col.table, col.column).kind == "date"), self.r.bucket))
        return _unique_aliases(out), fanout

    def _dim_targets(self, base: str) -> list[tuple[str, Target]]:
        found = []
        for item in self.r.dims:
            target = self.ranked(item, ("column", "table"), base)[0]
            if target.kind == "table" and target.table == base:
                self.notes.append(f"'per {item.raw}' read as per row of {base}")
                continue
            found.append((target.table, target))
        return found + [(t, Target("table", t)) for t in self.extra_dims]

    def _entity_columns(self, table: str) -> list:
        t = self.catalog.table(table)
        pk = primary_key(t)
        cols = ([(Col(table, pk), f"{singular(table)}_id" if pk.lower() == "id" else None)] if pk else [])
        cols += [(Col(table, name), None) for name in label_columns(t)]
        if not cols:
            raise Infeasible(f"{table} has neither a key nor a name column to group by")
        return cols

    def _order(self, q: Query, option: Option, dims: list) -> None:
        r = self.r
        ties = [(expr, "asc") for expr, _ in dims]
        ties = [t for t in ties if not isinstance(t[0], Bucket)]
        if r.rank:
            q.order = [(Out(option.alias), r.rank[0])] + ties
            word = r.ranked or (r.dims[0] if r.dims else None)
            q.limit = r.rank[1] or (None if not dims else (10 if _plural(word) else 1))
        elif r.bucket:
            q.order = [(expr, "asc") for expr, _ in dims if isinstance(expr, Bucket)] + ties
        elif dims:
            q.order = [(Out(option.alias), "desc")] + ties

    # ---- ranked listings ---------------------------------------------------------------------------------
    def _rank(self) -> Query:
        r = self.r
        entity = r.ranked or r.entity
        direction = r.rank[0]
        if entity is None:
            if r.measure is None:
                raise Refusal("I could not tell what to rank: name a table or a numeric column")
            self.shape = "aggregate"
            agg = "max" if direction == "desc" else "min"
            self.r.rank = None
            return self._best(self._aggregate, self._numeric_options(r.measure, agg))
        table = self.table_of(entity)
        if r.agg:
            options = self._options()
        else:
            options = self._numeric_options(r.measure, None) if r.measure else self._default_options(table)
        if not options:
            raise Refusal(f"rank {table} by what? The question names no numeric column for it")
        return self._best(lambda option: self._rank_query(option, table, entity), options)

    def _default_options(self, table: str) -> list[Option]:
        sold = self.r.sold and self.lx.quantity_targets()
        pool = self.lx.quantity_targets() if sold else self.lx.concept_targets("money")
        targets = [t for t in pool if self.graph.up_only(t.table, table) or self.graph.up_only(table, t.table)]
        note = "'selling' read as units sold" if sold else "no measure named: ranking by a money-like column"
        self.notes.append(note)
        return [self._numeric_option(t, "sum", None) for t in targets]

    def _rank_query(self, option: Option, table: str, entity: Item) -> Query:
        direction, count = self.r.rank
        if option.table == table or self.graph.up_only(table, option.table):
            self.shape = "ranked list"
            q = self._list(table)
            if isinstance(option.arg, Col) and all(e != option.arg for e, _ in q.select):
                q.select.append((option.arg, None))
            add_joins(q, self.graph.path(table, option.table) or [])
            q.order = [(option.arg, direction)] + q.order
            q.limit = count or (10 if _plural(entity) else 1)
            return q
        if self.graph.up_only(option.table, table):
            self.shape, self.extra_dims = "aggregate", [table]
            return self._aggregate(option)
        raise Infeasible(f"{option.label} is not linked to {table} one-to-one or many-to-one")

    # ---- plain listings ----------------------------------------------------------------------------------
    def _list(self, table: str | None = None) -> Query:
        r = self.r
        base = table or self._list_table()
        q = Query(base=base)
        projected = self._projection(q)
        q.select = projected or [(Col(base, c.name), None) for c in self.catalog.table(base).columns]
        self.place(q, self.specs(base, entity_mode=True), join_down=False)
        pk = primary_key(self.catalog.table(base))
        if projected and all(self._low_cardinality(e) for e, _ in projected) and not r.recent:
            q.distinct, q.order = True, [(e, "asc") for e, _ in projected]
        elif r.recent:
            col = self.date_column(base)
            add_joins(q, self.graph.path(base, col.table) or [])
            q.order = [(col, r.recent[0])] + ([(Col(base, pk), r.recent[0])] if pk else [])
        elif pk:
            q.order = [(Col(base, pk), "asc")]
        entity = r.entity or r.ranked
        recent_limit = 1 if r.recent and not _plural(entity) else DEFAULT_LIMIT
        q.limit = (r.recent[1] if r.recent and r.recent[1] else recent_limit) if r.recent else DEFAULT_LIMIT
        return q

    def _low_cardinality(self, expr) -> bool:
        return isinstance(expr, Col) and bool(self.column(expr.table, expr.column).samples)

    def _list_table(self) -> str:
        r = self.r
        candidates = [r.entity, r.ranked, *r.projection, *r.filters, *(f[0] for f in r.free),
                      *(c[0] or c[1] for c in r.compares), *(k[0] for k in r.keys), r.date_hint]
        for item in filter(None, candidates):
            targets = self.ranked(item, ("table", "column", "value", "flag", "derived"))
            if targets:
                return targets[0].table
        raise Refusal("I could not tell which table the question is about")

    def _projection(self, q: Query) -> list:
        out = []
        for item in self.r.projection:
            targets = self.ranked(item, ("column",), q.base)
            path = self.graph.path(q.base, targets[0].table) if targets else None
            if path is None:
                raise Refusal(f"{item.raw!r} is not linked to {q.base} by foreign keys")
            add_joins(q, path)
            out.append((Col(targets[0].table, targets[0].column), None))
        return _unique_aliases(list(dict.fromkeys(out)))


def _unique_aliases(columns: list) -> list:
    """Alias clashing output names ('name' twice) as table_column."""
    names: dict[str, int] = {}
    for expr, alias in columns:
        key = alias or (expr.column if isinstance(expr, Col) else "")
        names[key] = names.get(key, 0) + 1
    out = []
    for expr, alias in columns:
        key = alias or (expr.column if isinstance(expr, Col) else "")
        if names.get(key, 0) > 1 and isinstance(expr, Col):
            alias = f"{singular(expr.table)}_{expr.column}"
        out.append((expr, alias))
    return out
