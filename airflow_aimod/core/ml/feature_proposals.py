"""Candidate features as SQL expressions over a profiled table, derived from its profile and the target alone.

``propose(...)`` reads the profile's columns (inferred type, null rate, distinct count, quantiles, top values)
and writes expressions in the warehouse's dialect: ratios of numeric columns, the log of skewed positive
columns, date parts of date columns, one-hot and frequency encodings of low-cardinality categoricals, and
null indicators of columns that have nulls. PII columns, identifier-like columns and the target are never
used. ``FeatureProposal`` is what a model must return too; ``parse_proposals`` reads a reply defensively.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_aimod.core.ml.training import ID_NAME

KINDS = ("ratio", "log", "date_part", "one_hot", "frequency", "null_indicator", "other")
MAX_CATEGORIES = 20
"""A text column with more distinct values than this is not encoded (one-hot or frequency)."""
MAX_ONE_HOT = 3
SKEW_RATIO = 1.25
"""A positive column is skewed when its mean exceeds its median by this factor, or its p95 its median by 3×."""
MAX_SQL_CHARS = 2000


@dataclass(frozen=True)
class FeatureProposal:
    """One proposed feature: a name, one SQL expression, its kind, the columns it reads and why."""

    name: str
    sql: str
    kind: str = "other"
    columns: tuple[str, ...] = ()
    rationale: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "columns": list(self.columns)}


def quote(name: str) -> str:
    """A column or table identifier, double-quoted (both SQLite and PostgreSQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def usable_columns(columns: Sequence[Mapping[str, Any]], target: str) -> list[Mapping[str, Any]]:
    """Profile columns a feature may read: not the target, not PII, not an identifier, not empty or constant."""
    keep = []
    for col in columns:
        name, distinct = str(col.get("name")), int(col.get("distinct_count") or 0)
        if name.lower() == target.lower() or col.get("pii") or col.get("pii_by_value") or col.get("primary_key"):
            continue
        if distinct <= 1 or col.get("inferred_type") == "empty" or (ID_NAME.search(name) and col.get("unique")):
            continue
        keep.append(col)
    return keep


def propose(columns: Sequence[Mapping[str, Any]], *, target: str, dialect: str = "sqlite",
            max_proposals: int = 24) -> list[FeatureProposal]:
    """The candidates for ``target`` from a profile's ``columns``, the cheap single-column ones first."""
    cols = usable_columns(columns, target)
    numeric = [c for c in cols if c.get("inferred_type") in ("integer", "float")]
    found = [*_null_indicators(cols), *_logs(numeric), *_date_parts(cols, dialect), *_categoricals(cols),
             *_ratios(numeric, dialect)]
    return found[:max_proposals]


def _null_indicators(cols: Sequence[Mapping[str, Any]]) -> list[FeatureProposal]:
    return [FeatureProposal(f"{c['name']}_is_null", f"CASE WHEN {quote(c['name'])} IS NULL THEN 1 ELSE 0 END",
                            "null_indicator", (c["name"],),
                            f"{c['name']} is null in {float(c['null_rate']):.1%} of rows")
            for c in cols if float(c.get("null_rate") or 0) > 0]


def _logs(numeric: Sequence[Mapping[str, Any]]) -> list[FeatureProposal]:
    out = []
    for c in numeric:
        low, mean, q = c.get("min"), c.get("mean"), c.get("quantiles") or {}
        median, p95 = q.get("p50"), q.get("p95")
        if not _number(low) or low < 0 or not _number(median) or median <= 0:
            continue
        skewed = (_number(mean) and mean > SKEW_RATIO * median) or (_number(p95) and p95 > 3 * median)
        if skewed:
            shift = "" if low > 0 else " + 1"
            out.append(FeatureProposal(f"log_{c['name']}", f"LN({quote(c['name'])}{shift})", "log", (c["name"],),
                                       f"{c['name']} is positive and right-skewed (median {median:.4g}, "
                                       f"p95 {p95 if _number(p95) else '?'}, mean {mean if _number(mean) else '?'})"))
    return out


def _date_parts(cols: Sequence[Mapping[str, Any]], dialect: str) -> list[FeatureProposal]:
    out = []
    for c in cols:
        kind = c.get("inferred_type")
        if kind not in ("date", "datetime"):
            continue
        parts = ("month", "day_of_week", "days") + (("hour",) if kind == "datetime" else ())
        for part in parts:
            out.append(FeatureProposal(f"{c['name']}_{part}", _date_part(c["name"], part, kind, dialect), "date_part",
                                       (c["name"],), f"{c['name']} holds {kind}s: its {part.replace('_', ' ')}"))
    return out


def _date_part(name: str, part: str, kind: str, dialect: str) -> str:
    col = quote(name)
    if dialect == "sqlite":
        fmt = {"month": "%m", "day_of_week": "%w", "hour": "%H"}
        return f"julianday({col})" if part == "days" else f"CAST(strftime({literal(fmt[part])}, {col}) AS INTEGER)"
    value = f"CAST({col} AS {'DATE' if kind == 'date' else 'TIMESTAMP'})"
    if part == "days":
        return f"EXTRACT(EPOCH FROM {value}) / 86400.0"
    return f"EXTRACT({ {'month': 'MONTH', 'day_of_week': 'DOW', 'hour': 'HOUR'}[part] } FROM {value})"


def _categoricals(cols: Sequence[Mapping[str, Any]]) -> list[FeatureProposal]:
    out = []
    for c in cols:
        distinct = int(c.get("distinct_count") or 0)
        if c.get("inferred_type") not in ("string", "boolean") or not 2 <= distinct <= MAX_CATEGORIES:
            continue
        col = quote(c["name"])
        out.append(FeatureProposal(f"{c['name']}_frequency", f"COUNT(*) OVER (PARTITION BY {col})", "frequency",
                                   (c["name"],), f"{c['name']} has {distinct} values: how common each row's value is"))
        for top in (c.get("top_values") or [])[:MAX_ONE_HOT]:
            value = top.get("value")
            if value is None:
                continue
            slug = re.sub(r"\W+", "_", str(value)).strip("_")[:30] or "value"
            flag = f"CASE WHEN {col} = {literal(value)} THEN 1 ELSE 0 END"
            out.append(FeatureProposal(f"{c['name']}_is_{slug}", flag, "one_hot", (c["name"],),
                                       f"{value!r} is one of {c['name']}'s most common values"))
    return out


def _ratios(numeric: Sequence[Mapping[str, Any]], dialect: str) -> list[FeatureProposal]:
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    out = []
    for a, b in itertools.permutations(numeric, 2):
        if not _number(b.get("max")) or not _number(b.get("min")) or b["max"] == b["min"] == 0:
            continue
        out.append(FeatureProposal(f"{a['name']}_per_{b['name']}",
                                   f"CAST({quote(a['name'])} AS {real}) / NULLIF({quote(b['name'])}, 0)", "ratio",
                                   (a["name"], b["name"]), f"{a['name']} relative to {b['name']}"))
    return out


def parse_proposals(reply: Mapping[str, Any], *, max_proposals: int) -> list[FeatureProposal]:
    """The proposals of a model's reply; malformed entries are skipped, text is bounded, at most ``max_proposals``."""
    items = reply.get("proposals") if isinstance(reply, Mapping) else None
    out: list[FeatureProposal] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("sql"), str) or not item["sql"].strip():
            continue
        kind = item.get("kind") if item.get("kind") in KINDS else "other"
        columns = tuple(str(c) for c in item.get("columns") or () if isinstance(c, str))[:10]
        name = re.sub(r"[^\w]+", "_", str(item.get("name") or f"feature_{len(out) + 1}"))[:60]
        out.append(FeatureProposal(name, item["sql"].strip()[:MAX_SQL_CHARS], kind, columns,
                                   str(item.get("rationale") or "")[:300]))
        if len(out) >= max_proposals:
            break
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
