"""What a table profile holds: ``TableProfile`` and its ``ColumnProfile`` entries, JSON round-trippable.

The shape is a contract shared with the schema validator (``PROFILE_CONTRACT``):
keys may be added, none removed or renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

INFERRED_TYPES = ("integer", "float", "boolean", "date", "datetime", "string", "empty")
QUANTILES = (("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95))
MAX_TOP_VALUES = 10


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column over the profiled rows; PII columns keep counts only (``pii=True``)."""

    name: str
    declared_type: str
    inferred_type: str
    null_count: int
    null_rate: float
    distinct_count: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    quantiles: dict[str, float] | None = None
    top_values: list[dict[str, Any]] = field(default_factory=list)
    pii: bool = False
    primary_key: bool = False
    unique: bool = False
    """Every non-null value distinct (then ``top_values`` is empty: each value occurs once)."""
    pii_by_value: bool = False
    """Withheld because sampled values looked like PII (e-mails, phones, cards), whatever the column's name."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class TableProfile:
    """A table's exact row count and its columns' statistics, on every row or on a bounded sample."""

    table: str
    row_count: int
    profiled_rows: int
    columns: tuple[ColumnProfile, ...]
    skipped_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    queries: int = 0

    @property
    def sampled(self) -> bool:
        return self.profiled_rows < self.row_count

    def column(self, name: str) -> ColumnProfile | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "row_count": self.row_count, "profiled_rows": self.profiled_rows,
                "sampled": self.sampled, "columns": [c.to_dict() for c in self.columns],
                "skipped_columns": list(self.skipped_columns), "notes": list(self.notes), "queries": self.queries}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableProfile:
        return cls(table=data["table"], row_count=int(data["row_count"]), profiled_rows=int(data["profiled_rows"]),
                   columns=tuple(ColumnProfile.from_dict(c) for c in data.get("columns", ())),
                   skipped_columns=tuple(data.get("skipped_columns", ())), notes=tuple(data.get("notes", ())),
                   queries=int(data.get("queries", 0)))
