"""Grounding: every table and column a query names must exist in the catalog.

The SQL guard decides whether a query is *safe*; grounding decides whether it is
*about this database*. A query naming a column that does not exist is sent back to
the model for repair instead of failing at the database.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from airflow_aimod.core.schema import Catalog

_READ_DIALECT = {"postgresql": "postgres"}


def ungrounded_references(sql: str, catalog: Catalog) -> list[str]:
    """Problems naming tables or columns missing from ``catalog`` (empty list: grounded)."""
    try:
        tree = sqlglot.parse_one(sql, read=_READ_DIALECT.get(catalog.dialect, catalog.dialect))
    except sqlglot.errors.SqlglotError as exc:
        return [f"the query does not parse: {exc}"]
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    aliases, problems = _table_aliases(tree, catalog, ctes, [])
    derived = {sub.alias_or_name.lower() for sub in tree.find_all(exp.Subquery) if sub.alias_or_name} | ctes
    outputs = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    for column in tree.find_all(exp.Column):
        problems += _check_column(column, aliases, derived, outputs)
    return sorted(set(problems))


def _table_aliases(tree: exp.Expression, catalog: Catalog, ctes: set[str], problems: list[str]):
    aliases = {}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if not name or (name in ctes and not table.db):
            continue
        found = catalog.table(f"{table.db}.{table.name}" if table.db else table.name)
        if found is None:
            problems.append(f"unknown table {table.sql()}: use one of {', '.join(t.name for t in catalog.tables)}")
            continue
        aliases[(table.alias or table.name).lower()] = found
        aliases[found.name.lower()] = found
    return aliases, problems


def _check_column(column: exp.Column, aliases: dict, derived: set[str], outputs: set[str]) -> list[str]:
    name, qualifier = column.name.lower(), column.table.lower()
    if not name or isinstance(column.this, exp.Star):
        return []
    if qualifier:
        table = aliases.get(qualifier)
        if table is None:
            return [] if qualifier in derived else [f"unknown table or alias {qualifier!r} for column {name!r}"]
        if table.column(name) is None:
            return [f"unknown column {table.name}.{name}: {table.name} has {', '.join(c.name for c in table.columns)}"]
        return []
    if any(t.column(name) for t in aliases.values()) or name in outputs or derived:
        return []
    return [f"unknown column {name!r}: no table in the query has it"]
