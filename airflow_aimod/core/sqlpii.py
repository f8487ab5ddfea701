"""Which declared PII columns a query reads, found by resolving every reference through sqlglot's scopes.

Data leaves a table only through a reference in the scope where that table is a source: a
column (``u.email``, ``email``, ``u.e`` under an alias list ``users AS u(i, e)``), a star
(``*``, ``u.*``) or a whole-row reference (``u``, ``row_to_json(u)``, ``(u).email``,
``to_jsonb(u.*)``, ``json_agg(u)``). CTEs, derived tables, set operations and subqueries
pass on only what such a reference in an inner scope already read, so checking every
reference of every scope — output expressions, WHERE, GROUP BY, ORDER BY, JOIN ON/USING,
window and function arguments, correlated and lateral references through the parent
scopes — finds every PII column the query can reveal, even through a filter.

``sqlglot.optimizer.scope`` builds the scopes and their sources (aliases, CTEs, derived
tables, lateral sources). Column resolution is ours because it must fail closed without a
schema: an unqualified name is charged to every source that may hold it, an alias-list
name maps by position (or, without the table's column list, counts as possibly PII), and
anything the scopes cannot place on a table with PII columns needs a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope, walk_in_scope

__all__ = ["PiiColumnFinder"]

class PiiColumnFinder:
    """Reasons a query needs approval because it reads declared PII columns.

    ``pii_columns``: bare table name -> PII column names (lower-case). ``schema``: bare table
    name -> its columns in order (lower-case), when the live schema is known; it only makes
    the answer more precise (an alias list mapped by position, an unqualified name charged to
    the one table that has it).
    """

    def __init__(self, pii_columns: Mapping[str, frozenset[str]],
                 schema: Mapping[str, Sequence[str]] | None = None) -> None:
        self.pii_columns = pii_columns
        self.schema = {name.rsplit(".", 1)[-1].lower(): tuple(c.lower() for c in cols)
                       for name, cols in (schema or {}).items()}

    def reasons(self, root: exp.Expression, nodes: Sequence[exp.Expression] | None = None) -> Iterator[str]:
        """Yield why ``root`` needs approval; nothing when it reads no PII column. ``nodes``: every node of
        ``root`` when the caller has already walked it."""
        nodes = list(root.walk()) if nodes is None else nodes
        tables = [t for t in nodes if isinstance(t, exp.Table) and self._pii_of(t)]
        if not tables:
            return
        columns = [c for c in nodes if isinstance(c, exp.Column)]
        try:
            yield from self._scan(columns, traverse_scope(root), tables)
        except Exception as error:  # noqa: BLE001 - what the scopes cannot place needs a person
            names = ", ".join(sorted({_bare(t) for t in tables}))
            yield f"cannot tell which columns of {names} it reads ({type(error).__name__}): a person must check"

    # ------------------------------------------------------------------ the walk

    def _scan(self, columns: list[exp.Column], scopes: list[Scope], tables: list[exp.Table]) -> Iterator[str]:
        covered_tables: set[int] = set()
        covered_columns: set[int] = set()
        for scope in scopes:
            covered_tables |= {id(node) for node, _ in scope.selected_sources.values()}
            for node in walk_in_scope(scope.expression):
                if isinstance(node, exp.Column):
                    covered_columns.add(id(node))
                    yield from self._column(node, scope)
                elif isinstance(node, exp.Star) and not isinstance(node.parent, exp.Column):
                    yield from self._bare_star(node, scope)
                elif isinstance(node, exp.Join):
                    yield from self._join(node, scope)
        for table in tables:
            if id(table) not in covered_tables:
                yield f"cannot tell which columns of {_bare(table)} it reads (a source outside any query scope)"
        for column in columns:
            if id(column) not in covered_columns:
                yield from self._unscoped(column)

    def _column(self, column: exp.Column, scope: Scope) -> Iterator[str]:
        if isinstance(column.parent, exp.Star) and column.arg_key == "except_":
            return  # ``* EXCEPT (email)`` names what is NOT read
        name, qualifier = column.name.lower(), column.table.lower()
        if isinstance(column.this, exp.Star):
            yield from self._qualified_star(column, qualifier, scope)
        elif qualifier:
            yield from self._qualified(qualifier, name, scope)
        elif not _is_output_alias(column, name):
            yield from self._unqualified(name, scope)

    def _qualified(self, qualifier: str, name: str, scope: Scope) -> Iterator[str]:
        source = _find_source(qualifier, scope)
        if source is None:
            yield from self._unresolved(qualifier, name, scope)
        elif isinstance(source, exp.Table) and self._pii_of(source):
            yield from self._column_reasons(source, name)

    def _unqualified(self, name: str, scope: Scope) -> Iterator[str]:
        """Charge ``name`` to every source that may hold it, nearest scope first; a row alias reads whole rows."""
        for level in _chain(scope):
            definite = False
            for alias, (_, source) in level.selected_sources.items():
                has = self._has_column(source, name)
                definite |= has is True
                if has is not False and isinstance(source, exp.Table) and self._pii_of(source):
                    yield from self._column_reasons(source, name)
                if not definite and alias.lower() == name and isinstance(source, exp.Table):
                    yield from self._whole_rows(source)
            if definite:
                return

    def _qualified_star(self, column: exp.Column, qualifier: str, scope: Scope) -> Iterator[str]:
        source = _find_source(qualifier, scope)
        if source is None:
            yield from self._unresolved(qualifier, "*", scope)
        elif isinstance(source, exp.Table) and self._pii_of(source):
            if _is_projection(column, scope):
                yield self._star_reason(source)
            else:
                yield from self._whole_rows(source)

    def _bare_star(self, star: exp.Star, scope: Scope) -> Iterator[str]:
        if isinstance(star.parent, exp.Count) or _is_exists_projection(star, scope):
            return  # count(*) and EXISTS (SELECT * ...) return no values
        excluded = {c.name.lower() for c in star.args.get("except_") or ()}
        for _, source in scope.selected_sources.values():
            if isinstance(source, exp.Table) and (pii := self._pii_of(source)):
                if _alias_columns(source) or pii - excluded:
                    yield self._star_reason(source)

    def _join(self, join: exp.Join, scope: Scope) -> Iterator[str]:
        for identifier in join.args.get("using") or ():
            yield from self._unqualified(identifier.name.lower(), scope)
        if str(join.args.get("method") or "").upper() == "NATURAL":
            yield from self._natural(scope)

    def _natural(self, scope: Scope) -> Iterator[str]:
        """A NATURAL JOIN compares every shared column name: PII ones unless the schema proves none is shared."""
        sources = [source for _, source in scope.selected_sources.values()]
        for source in sources:
            if isinstance(source, exp.Table) and (pii := self._pii_of(source)):
                others = [s for s in sources if s is not source]
                for column in sorted(pii):
                    if any(self._has_column(other, column) is not False for other in others):
                        yield f"touches PII column {_bare(source)}.{column} (a NATURAL JOIN compares it)"

    def _unscoped(self, column: exp.Column) -> Iterator[str]:
        """A reference no scope walked: PII-looking ones need a person."""
        parts = {column.name.lower(), column.table.lower()}
        for table, pii in self.pii_columns.items():
            if parts & (pii | {table}):
                yield f"cannot tell where {column.sql()} comes from; {table} has PII columns ({_listed(pii)})"

    def _unresolved(self, qualifier: str, name: str, scope: Scope) -> Iterator[str]:
        """A qualifier no scope defines: fail closed when it or the name points at a visible PII table."""
        for level in _chain(scope):
            for _, source in level.selected_sources.values():
                if isinstance(source, exp.Table) and (pii := self._pii_of(source)):
                    if qualifier == _bare(source) or name in pii or name == "*":
                        yield (f"cannot resolve {qualifier}.{name}; {_bare(source)} has PII columns "
                               f"({_listed(pii)}): a person must check")

    # ------------------------------------------------------------------ tables and their columns

    def _pii_of(self, table: exp.Table) -> frozenset[str]:
        """The PII columns of a real table (empty for table functions and tables without PII)."""
        if not isinstance(table.this, exp.Identifier):
            return frozenset()
        return self.pii_columns.get(_bare(table), frozenset())

    def _column_reasons(self, table: exp.Table, name: str) -> Iterator[str]:
        real = self._real_column(table, name)
        pii = self._pii_of(table)
        if real is None:
            yield (f"reads column {name} of {_bare(table)} renamed by an alias list, which may be one of its "
                   f"PII columns ({_listed(pii)})")
        elif real in pii:
            yield f"touches PII column {_bare(table)}.{real}"

    def _real_column(self, table: exp.Table, name: str) -> str | None:
        """The table's own name for ``name`` after its alias list; None when only the schema could tell."""
        aliases = _alias_columns(table)
        if name not in aliases:
            return name
        columns = self.schema.get(_bare(table))
        position = aliases.index(name)
        if columns is None:
            return None
        return columns[position] if position < len(columns) else name

    def _has_column(self, source: exp.Table | Scope, name: str) -> bool | None:
        """Whether ``source`` has a column ``name``: True, False, or None when it cannot be known."""
        if isinstance(source, exp.Table):
            aliases = _alias_columns(source)
            columns = self.schema.get(_bare(source)) if isinstance(source.this, exp.Identifier) else None
            if columns is not None:
                return name in (*aliases, *columns[len(aliases):])
            return True if name in aliases else None
        outputs = _outputs(source)
        return None if outputs is None else name in outputs

    def _whole_rows(self, table: exp.Table) -> Iterator[str]:
        if pii := self._pii_of(table):
            yield f"reads whole rows of {_bare(table)}, which has PII columns ({_listed(pii)})"

    def _star_reason(self, table: exp.Table) -> str:
        return f"selects * from {_bare(table)}, which has PII columns ({_listed(self._pii_of(table))})"


# ---------------------------------------------------------------------- helpers


def _bare(table: exp.Table) -> str:
    return table.name.lower()


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _chain(scope: Scope) -> Iterator[Scope]:
    """The scope and its enclosing scopes, nearest first (correlated and lateral references)."""
    level: Scope | None = scope
    while level is not None:
        yield level
        level = level.parent


def _find_source(qualifier: str, scope: Scope) -> exp.Table | Scope | None:
    """The source a qualifier names, nearest scope first; a bare table name matches too (fail closed)."""
    for level in _chain(scope):
        for alias, (_, source) in level.selected_sources.items():
            if alias.lower() == qualifier:
                return source
    for level in _chain(scope):
        for _, source in level.selected_sources.values():
            if isinstance(source, exp.Table) and _bare(source) == qualifier:
                return source
    return None


def _alias_columns(table: exp.Table) -> list[str]:
    alias = table.args.get("alias")
    return [c.name.lower() for c in alias.columns] if isinstance(alias, exp.TableAlias) else []


def _outputs(scope: Scope) -> list[str] | None:
    """The column names a CTE, derived table or set operation exposes; None when a star hides them."""
    named = getattr(scope.expression, "named_selects", None)
    if named is None or "*" in named:
        return None if not scope.outer_columns else [c.lower() for c in scope.outer_columns]
    names = [n.lower() for n in named]
    outer = [c.lower() for c in scope.outer_columns]
    return outer + names[len(outer):]


def _is_projection(node: exp.Expression, scope: Scope) -> bool:
    return node.parent is scope.expression and node.arg_key == "expressions"


def _is_exists_projection(star: exp.Star, scope: Scope) -> bool:
    return _is_projection(star, scope) and isinstance(scope.expression.parent, exp.Exists)


def _is_output_alias(column: exp.Column, name: str) -> bool:
    """An ORDER BY name that refers to a SELECT output (``SELECT x AS e ... ORDER BY e``), not a source column."""
    order = column.parent
    while isinstance(order, (exp.Ordered, exp.Paren)):
        order = order.parent
    select = order.parent if isinstance(order, exp.Order) else None
    return isinstance(select, exp.Select) and name in {n.lower() for n in select.named_selects}
