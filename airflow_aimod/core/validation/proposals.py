"""Candidate expectations derived from a table profile, each with the numbers behind it.

The profile has the shape of ``TableProfile.to_dict()`` (see the profile contract in
``docs/agents/schema_validator.md``). Rules, per column (PII columns get no value-based rules):

- ``expect_table_columns_to_match_set``: the profiled columns, exactly (at least, when ``skipped_columns``).
- not null: ``null_count == 0``.
- unique: integer or string columns whose ``distinct_count`` equals ``profiled_rows`` (no nulls, 2+ rows).
- type: integer, float and string columns (``in_type_list`` over the validator's frame dtypes);
  ISO date prefix (``match_regex``) for date and datetime columns.
- between: numeric, non-identifier columns, the observed min/max widened by ``RANGE_MARGIN`` of the range.
- in set: string columns with at most ``MAX_SET_SIZE`` values, all listed in ``top_values``, each seen twice on average.

A proposal is only a candidate: it joins a suite after a person approves it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_aimod.core.validation.expectations import ExpectationSpec
from airflow_aimod.exceptions import ConfigurationError

RANGE_MARGIN = 0.1
"""The observed [min, max] is widened by this share of its width on each side (not below 0 for non-negative data)."""
MAX_SET_SIZE = 10
TYPE_LISTS = {"integer": ["int64", "Int64Dtype"], "float": ["float64", "int64", "Int64Dtype"], "string": ["str"]}
"""dtype names per inferred type, as ``gx_runner.frame_from_rows`` builds the frame (see there)."""
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class Proposal:
    """A candidate expectation, why it is proposed, and how far the profile supports it (0..1)."""

    spec: ExpectationSpec
    evidence: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.spec.to_dict(), "evidence": self.evidence, "confidence": self.confidence}


def propose_expectations(profile: Mapping[str, Any], *, exclude: Iterable[ExpectationSpec] = ()) -> list[Proposal]:
    """Proposals from ``profile``, skipping checks ``exclude`` (the user's suite) already makes."""
    columns = _columns(profile)
    rows = int(profile.get("profiled_rows") or 0)
    if rows <= 0 or not columns:
        return []
    base = _confidence(rows, sampled=bool(profile.get("sampled")))
    found = [_columns_proposal(profile, [str(c["name"]) for c in columns], rows)]
    for column in columns:
        found += _column_proposals(column, rows, base)
    taken = {spec.key for spec in exclude}
    return [p for p in found if p.spec.key not in taken]


def _columns(profile: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    columns = profile.get("columns") if isinstance(profile, Mapping) else None
    if not isinstance(columns, list) or not all(isinstance(c, Mapping) and c.get("name") for c in columns):
        raise ConfigurationError("not a table profile: expected the shape of TableProfile.to_dict() "
                                 "({'table', 'row_count', 'profiled_rows', 'columns': [{'name', ...}]}), "
                                 "e.g. result['profile'] of a DataProfilerOperator")
    return columns


def _columns_proposal(profile: Mapping[str, Any], names: list[str], rows: int) -> Proposal:
    """Exactly the profiled columns; only "at least these" when the profiler skipped some."""
    skipped = list(profile.get("skipped_columns") or ())
    spec = ExpectationSpec("expect_table_columns_to_match_set", {"column_set": names, "exact_match": not skipped})
    what = "exactly these" if not skipped else f"these (and {len(skipped)} not profiled)"
    return Proposal(spec, f"the profile of {profile.get('table') or 'the data'} has {what} {len(names)} columns",
                    _confidence(rows, sampled=False))


def _confidence(rows: int, *, sampled: bool) -> float:
    """0.5 for one row, rising to 0.95 at 1000 rows; a sample can miss rows, so 0.15 less."""
    value = 0.5 + 0.45 * min(1.0, rows / 1000)
    return round(value - (0.15 if sampled else 0.0), 2)


def _column_proposals(column: Mapping[str, Any], rows: int, confidence: float) -> list[Proposal]:
    name, kind = str(column["name"]), column.get("inferred_type")
    nulls = int(column.get("null_count") or 0)
    found = []
    if nulls == 0 and kind != "empty":
        found.append(Proposal(ExpectationSpec("expect_column_values_to_not_be_null", {"column": name}),
                              f"{name}: no nulls in {rows} profiled rows", confidence))
    if type_proposal := _type_proposal(name, kind, rows, confidence):
        found.append(type_proposal)
    if column.get("pii"):
        return found
    distinct = column.get("distinct_count")
    if kind in ("integer", "string") and nulls == 0 and rows >= 2 and distinct == rows:
        found.append(Proposal(ExpectationSpec("expect_column_values_to_be_unique", {"column": name}),
                              f"{name}: {distinct} distinct values in {rows} profiled rows", confidence))
    if between := _range_proposal(name, kind, column, rows, confidence):
        found.append(between)
    if in_set := _set_proposal(name, kind, column, rows - nulls, confidence):
        found.append(in_set)
    return found


def _type_proposal(name: str, kind: Any, rows: int, confidence: float) -> Proposal | None:
    if kind in TYPE_LISTS:
        return Proposal(ExpectationSpec("expect_column_values_to_be_in_type_list",
                                        {"column": name, "type_list": TYPE_LISTS[kind]}),
                        f"{name}: inferred type {kind} over {rows} profiled rows", confidence)
    if kind in ("date", "datetime"):
        return Proposal(ExpectationSpec("expect_column_values_to_match_regex", {"column": name, "regex": ISO_DATE}),
                        f"{name}: inferred type {kind} (ISO dates) over {rows} profiled rows", confidence)
    return None


def _range_proposal(name: str, kind: Any, column: Mapping[str, Any], rows: int, confidence: float) -> Proposal | None:
    low, high = column.get("min"), column.get("max")
    if kind not in ("integer", "float") or not _number(low) or not _number(high) or _looks_like_id(name):
        return None
    margin = (high - low) * RANGE_MARGIN
    wide_low, wide_high = low - margin, high + margin
    if low >= 0:
        wide_low = max(wide_low, 0)
    if kind == "integer":
        wide_low, wide_high = math.floor(wide_low), math.ceil(wide_high)
    else:
        wide_low, wide_high = round(wide_low, 6), round(wide_high, 6)
    spec = ExpectationSpec("expect_column_values_to_be_between",
                           {"column": name, "min_value": wide_low, "max_value": wide_high})
    return Proposal(spec, f"{name}: observed min {low:g}, max {high:g} in {rows} profiled rows, widened by "
                          f"{RANGE_MARGIN:.0%} of the range", confidence)


def _set_proposal(name: str, kind: Any, column: Mapping[str, Any], non_null: int, confidence: float) -> Proposal | None:
    top = [t for t in column.get("top_values") or () if isinstance(t, Mapping)]
    distinct = column.get("distinct_count")
    if kind != "string" or not top or not isinstance(distinct, int) or distinct > MAX_SET_SIZE:
        return None
    complete = len(top) == distinct and sum(int(t.get("count") or 0) for t in top) == non_null
    if not complete or distinct * 2 > non_null:
        return None
    values = [t["value"] for t in top]
    shown = ", ".join(f"{t['value']} ({t.get('count')})" for t in top)
    return Proposal(ExpectationSpec("expect_column_values_to_be_in_set", {"column": name, "value_set": values}),
                    f"{name}: all {non_null} non-null values are one of {distinct}: {shown}", confidence)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _looks_like_id(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith(("_id", "_key", "_uuid"))
