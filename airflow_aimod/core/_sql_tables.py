"""The real tables a query reads (CTE references and table functions aside), and which are system catalogs.

Agents read the warehouse's own tables only. System and statistics catalogs hand out what
the guard protects by other means: ``pg_stats`` and ``sqlite_stat1`` carry a column's most
common values and histogram bounds (PII by another road), ``pg_authid``/``pg_shadow`` password
hashes, ``pg_settings`` the server's configuration. The executors introspect the schema with
their own queries, outside the guard, so agents never need these relations. In Postgres the
system columns ``xmin``/``xmax``/``cmin``/``cmax`` reveal transaction ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlglot import exp

__all__ = ["real_tables", "system_column_violation", "system_relation_violation", "table_name"]

# Schemas whose relations are system catalogs, whatever the dialect.
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "pg_toast", "mysql", "performance_schema", "sys", "account_usage"})
# information_schema views that only list tables and columns (no privileges, roles or user mappings).
_LISTING_VIEWS = frozenset({"tables", "columns", "views", "schemata", "table_constraints", "key_column_usage",
                            "referential_constraints", "constraint_column_usage"})
# Name prefixes reserved for system relations, per dialect (Postgres resolves pg_* in pg_catalog first).
_SYSTEM_PREFIXES = {"postgres": ("pg_",), "redshift": ("pg_", "stl_", "stv_", "svl_", "svv_"),
                    "sqlite": ("sqlite_", "pragma_"),
                    "duckdb": ("duckdb_", "pg_", "sqlite_")}
_SYSTEM_COLUMNS = {"postgres": frozenset({"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"}),
                   "redshift": frozenset({"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"})}


def table_name(table: exp.Table) -> str | None:
    """'schema.table' (lower-case, unquoted), or None for a table function."""
    if not isinstance(table.this, exp.Identifier):
        return None
    parts = (table.args.get("catalog"), table.args.get("db"), table.this)
    return ".".join(p.name.lower() for p in parts if isinstance(p, exp.Expression) and p.name)


def real_tables(tables: Iterable[exp.Table]) -> Iterator[tuple[exp.Table, str]]:
    """(node, normalized name) for every table node that is not a CTE reference or a table function."""
    for table in tables:
        name = table_name(table)
        if name and not _is_cte_reference(table):
            yield table, name


def system_relation_violation(table: exp.Table, dialect: str) -> str | None:
    """Why reading ``table`` is refused (a system or statistics catalog), or None."""
    name = table_name(table)
    if not name:
        return None
    *schemas, bare = name.split(".")
    schema = schemas[-1] if schemas else ""
    system = schema in _SYSTEM_SCHEMAS or any(bare.startswith(p) for p in _SYSTEM_PREFIXES.get(dialect, ()))
    system |= schema == "information_schema" and bare not in _LISTING_VIEWS
    if not system:
        return None
    return (f"reading the system catalog {name} is not allowed: agents query the warehouse's own tables "
            "(the schema comes from the executor's introspection)")


def system_column_violation(column: exp.Column, dialect: str) -> str | None:
    """Why referencing ``column`` is refused (a system column revealing transaction ids), or None."""
    names = _SYSTEM_COLUMNS.get(dialect)
    if names and column.name.lower() in names:
        return f"system column {column.name.lower()} is not allowed: it reveals transaction ids or row locations"
    return None


def _with_of(node: exp.Expression) -> exp.With | None:
    """The WITH clause attached to a query (``with_`` in new sqlglot, ``with`` in old)."""
    with_ = node.args.get("with_") or node.args.get("with")
    return with_ if isinstance(with_, exp.With) else None


def _is_cte_reference(table: exp.Table) -> bool:
    """Whether an unqualified table name resolves to a CTE visible at that point."""
    if table.args.get("db") or table.args.get("catalog"):
        return False
    name, child, node = table.name.lower(), table, table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):  # inside a CTE: only earlier ones (or itself)
            index = next(i for i, cte in enumerate(node.expressions) if cte is child)
            visible = node.expressions[: index + 1 if node.args.get("recursive") else index]
        else:
            with_ = _with_of(node)
            visible = with_.expressions if with_ is not None and with_ is not child else []
        if name in {cte.alias_or_name.lower() for cte in visible}:
            return True
        child, node = node, node.parent
    return False
