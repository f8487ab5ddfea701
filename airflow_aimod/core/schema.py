"""The warehouse catalog an agent sees: tables, columns, types, keys and sample values.

Frozen, JSON round-trippable dataclasses. Names are kept as the database spells them;
look-ups are case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column; ``samples`` holds frequent distinct values (text columns of low cardinality)."""

    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    samples: tuple[Any, ...] = ()
    distinct_count: int | None = None

    @property
    def kind(self) -> str:
        """Coarse type: 'number', 'text', 'date', 'bool' or 'other'."""
        t = self.type.lower()
        if any(w in t for w in ("int", "real", "float", "double", "numeric", "decimal", "serial", "money")):
            return "number"
        if any(w in t for w in ("date", "time")):
            return "date"
        if "bool" in t:
            return "bool"
        if any(w in t for w in ("char", "text", "clob", "string", "uuid", "citext")) or not t:
            return "text"
        return "other"


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of the owning table references ``ref_table.ref_column``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    """One table or view."""

    name: str
    columns: tuple[Column, ...]
    schema: str | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    row_count: int | None = None

    def column(self, name: str) -> Column | None:
        """Case-insensitive column look-up."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class Catalog:
    """The tables of one database connection, in one SQL dialect."""

    dialect: str
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table | None:
        """Case-insensitive look-up by bare or schema-qualified name."""
        lowered = name.lower().replace('"', "")
        for table in self.tables:
            if lowered in (table.name.lower(), table.qualified_name.lower()):
                return table
        return None

    def subset(self, names: Iterable[str]) -> Catalog:
        """A catalog holding only the named tables, in this catalog's order."""
        wanted = {n.lower() for n in names}
        return replace(self, tables=tuple(t for t in self.tables if t.name.lower() in wanted))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also what prompts embed)."""
        return {
            "dialect": self.dialect,
            "tables": [
                {
                    "name": t.name, "schema": t.schema, "row_count": t.row_count,
                    "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable, "primary_key": c.primary_key,
                                 "samples": list(c.samples), "distinct_count": c.distinct_count} for c in t.columns],
                    "foreign_keys": [{"column": f.column, "ref_table": f.ref_table, "ref_column": f.ref_column}
                                     for f in t.foreign_keys],
                }
                for t in self.tables
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Catalog:
        tables = tuple(
            Table(
                name=t["name"], schema=t.get("schema"), row_count=t.get("row_count"),
                columns=tuple(Column(c["name"], c.get("type", ""), c.get("nullable", True), c.get("primary_key", False),
                                     tuple(c.get("samples") or ()), c.get("distinct_count")) for c in t["columns"]),
                foreign_keys=tuple(ForeignKey(f["column"], f["ref_table"], f["ref_column"])
                                   for f in t.get("foreign_keys") or ()),
            )
            for t in data.get("tables", ())
        )
        return cls(dialect=data["dialect"], tables=tables)
