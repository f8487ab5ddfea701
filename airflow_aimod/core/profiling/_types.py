"""Column types: the query family a declared type allows, and the type inferred from the values.

PostgreSQL declares types the values honour, so its declared type decides (a text column is
still probed for ISO dates and boolean words). SQLite is loosely typed: a ``DATE`` column holds
text, a ``NUMERIC`` one integers and reals, so the values decide, from per-type counts the
aggregate query computes (``typeof`` and ``GLOB`` patterns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FAMILIES = ("any", "integer", "float", "boolean", "date", "datetime", "text", "other")
"""``any``: SQLite (values decide); the rest: PostgreSQL declared-type families."""

_PG_FAMILIES = (
    (re.compile(r"^bool"), "boolean"),
    (re.compile(r"^timestamp"), "datetime"),
    (re.compile(r"^date$"), "date"),
    (re.compile(r"^(smallint|integer|bigint|int[248]?|(small|big)?serial)\b"), "integer"),
    (re.compile(r"^(numeric|decimal|real|double precision|float[48]?|money)\b"), "float"),
    (re.compile(r"^(text|character|char|varchar|citext|name|bpchar)\b"), "text"),
)
NUMERIC = frozenset({"integer", "float"})
ORDERED = frozenset({"integer", "float", "date", "datetime"})
"""Inferred types whose min and max are meaningful (ISO text orders like the dates it spells)."""


def family_of(declared_type: str, dialect: str) -> str:
    """The query family of a column: which aggregates and probes its queries may use."""
    if dialect == "sqlite":
        return "any"
    lowered = declared_type.strip().lower()
    if lowered.endswith("]"):  # arrays: no order, no regex; counted and grouped as text
        return "other"
    return next((family for pattern, family in _PG_FAMILIES if pattern.search(lowered)), "other")


def probes_of(family: str) -> tuple[str, ...]:
    """The value classes counted for a family (``int``/``real`` storage, ISO ``date``/``datetime``, ``bool``)."""
    if family == "any":
        return ("int", "real", "date", "datetime", "bool")
    return ("date", "datetime", "bool") if family == "text" else ()


def infer_type(family: str, declared_type: str, counts: Mapping[str, int]) -> str:
    """The inferred type from the family and the counts of non-null values (``n``) per value class."""
    n = int(counts.get("n", 0))
    if n == 0:
        return "empty"
    if family == "any":
        return _from_values(declared_type, counts, n)
    if family == "text":
        return _from_text(counts, n)
    return family if family in ("integer", "float", "boolean", "date", "datetime") else "string"


def _from_values(declared_type: str, counts: Mapping[str, int], n: int) -> str:
    stored_int, stored_real = int(counts.get("int", 0)), int(counts.get("real", 0))
    if stored_int == n:
        return "boolean" if "bool" in declared_type.lower() else "integer"
    if stored_int + stored_real == n:
        return "float"
    return _from_text(counts, n)


def _from_text(counts: Mapping[str, int], n: int) -> str:
    dates, stamps, words = (int(counts.get(k, 0)) for k in ("date", "datetime", "bool"))
    if dates == n:
        return "date"
    if stamps and dates + stamps == n:
        return "datetime"
    return "boolean" if words == n else "string"
