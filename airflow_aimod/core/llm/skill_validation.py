"""Offline skill ``explain_validation``: a summary written from a validation's numbers, nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHOWN = 3
_PHRASES = {
    "expect_column_values_to_not_be_null": "no nulls",
    "expect_column_values_to_be_null": "only nulls",
    "expect_column_values_to_be_unique": "unique values",
    "expect_column_to_exist": "the column exists",
    "expect_table_columns_to_match_set": "the expected set of columns",
    "expect_table_columns_to_match_ordered_list": "the expected columns in order",
}


def answer(context: dict[str, Any]) -> dict[str, Any]:
    validation = context.get("validation")
    subject = str(context.get("subject") or "the data")
    if not isinstance(validation, Mapping) or not validation.get("evaluated"):
        return {"summary": f"Cannot explain the validation of {subject}: no expectation was evaluated.",
                "confidence": 0.0}
    rows = validation.get("rows")
    scope = f"{rows} row(s)" + (" (truncated at the row cap)" if validation.get("truncated") else "")
    total = validation["evaluated"]
    if validation.get("success"):
        return {"summary": f"{subject}: all {total} expectation(s) passed on {scope}.", "confidence": 0.9}
    failures = [f for f in validation.get("failures") or () if isinstance(f, Mapping)]
    described = "; ".join(_describe(f) for f in failures[:SHOWN])
    more = f"; and {len(failures) - SHOWN} more" if len(failures) > SHOWN else ""
    return {"summary": f"{subject}: {validation.get('failed')} of {total} expectation(s) failed on {scope} — "
                       f"{described}{more}.", "confidence": 0.9}


def _describe(failure: Mapping[str, Any]) -> str:
    what = _expected(failure)
    where = f"{failure['column']}: " if failure.get("column") else ""
    if failure.get("error"):
        return f"{where}{what} could not be checked ({failure['error']})"
    count = failure.get("unexpected_count")
    if isinstance(count, int):
        share = failure.get("unexpected_percent")
        share_text = f" ({share:.3g}%)" if isinstance(share, (int, float)) else ""
        return f"{where}{count} row(s){share_text} break {what}{_examples(failure)}"
    observed = failure.get("observed_value")
    return f"{where}expected {what}, observed {_short(observed)}" if observed is not None else f"{where}{what} failed"


def _expected(failure: Mapping[str, Any]) -> str:
    kind, kwargs = str(failure.get("type") or ""), failure.get("kwargs") or {}
    if kind in _PHRASES:
        return _PHRASES[kind]
    if "value_set" in kwargs:
        return f"{_words(kind)} {_short(kwargs['value_set'])}"
    if "min_value" in kwargs or "max_value" in kwargs:
        return f"{_words(kind)} {kwargs.get('min_value')} and {kwargs.get('max_value')}"
    return _words(kind)


def _words(kind: str) -> str:
    return kind.removeprefix("expect_").replace("_", " ")


def _examples(failure: Mapping[str, Any]) -> str:
    if failure.get("values_withheld"):
        return " (values withheld: personal data)"
    values = failure.get("unexpected_values") or []
    return f", e.g. {', '.join(_short(v) for v in values[:SHOWN])}" if values else ""


def _short(value: Any) -> str:
    if isinstance(value, list):
        inner = ", ".join(_short(v) for v in value[:5])
        return f"[{inner}{', ...' if len(value) > 5 else ''}]"
    text = "null" if value is None else repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
