"""Expectation specs: Great Expectations expectations as small, validated JSON values.

A spec is ``{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}``.
Only the types in ``SUPPORTED`` are accepted, each with its required and optional
arguments, and the values are checked here (pure Python, no GX import), so a typo in a
DAG's suite fails the DAG parse with the closest known name instead of failing at run time.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

_RANGE = ("min_value", "max_value", "strict_min", "strict_max")
_MOSTLY = ("mostly",)

SUPPORTED: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    # type: (required arguments, optional arguments)
    "expect_column_to_exist": (("column",), ()),
    "expect_column_values_to_not_be_null": (("column",), _MOSTLY),
    "expect_column_values_to_be_null": (("column",), _MOSTLY),
    "expect_column_values_to_be_unique": (("column",), _MOSTLY),
    "expect_column_values_to_be_between": (("column",), (*_RANGE, *_MOSTLY)),
    "expect_column_values_to_be_in_set": (("column", "value_set"), _MOSTLY),
    "expect_column_values_to_not_be_in_set": (("column", "value_set"), _MOSTLY),
    "expect_column_values_to_match_regex": (("column", "regex"), _MOSTLY),
    "expect_column_values_to_not_match_regex": (("column", "regex"), _MOSTLY),
    "expect_column_values_to_be_of_type": (("column", "type_"), _MOSTLY),
    "expect_column_values_to_be_in_type_list": (("column", "type_list"), _MOSTLY),
    "expect_column_value_lengths_to_be_between": (("column",), (*_RANGE, *_MOSTLY)),
    "expect_column_min_to_be_between": (("column",), _RANGE),
    "expect_column_max_to_be_between": (("column",), _RANGE),
    "expect_column_mean_to_be_between": (("column",), _RANGE),
    "expect_column_median_to_be_between": (("column",), _RANGE),
    "expect_column_sum_to_be_between": (("column",), _RANGE),
    "expect_column_unique_value_count_to_be_between": (("column",), _RANGE),
    "expect_column_distinct_values_to_be_in_set": (("column", "value_set"), ()),
    "expect_column_distinct_values_to_equal_set": (("column", "value_set"), ()),
    "expect_column_pair_values_a_to_be_greater_than_b": (("column_A", "column_B"), ("or_equal", *_MOSTLY)),
    "expect_compound_columns_to_be_unique": (("column_list",), _MOSTLY),
    "expect_table_row_count_to_be_between": ((), _RANGE),
    "expect_table_row_count_to_equal": (("value",), ()),
    "expect_table_column_count_to_equal": (("value",), ()),
    "expect_table_columns_to_match_set": (("column_set",), ("exact_match",)),
    "expect_table_columns_to_match_ordered_list": (("column_list",), ()),
})

_NAMES = ("column", "column_A", "column_B", "type_", "regex")
_LISTS = ("value_set", "column_set", "column_list", "type_list")
_FLAGS = ("strict_min", "strict_max", "exact_match", "or_equal")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: a supported GX type and its checked arguments (lists kept as tuples)."""

    type: str
    kwargs: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.type not in SUPPORTED:
            hint = _hint(self.type, SUPPORTED) or f" Supported: {', '.join(SUPPORTED)}"
            raise ConfigurationError(f"unsupported expectation type {self.type!r}.{hint}")
        kwargs = _checked_kwargs(self.type, dict(self.kwargs))
        object.__setattr__(self, "kwargs", MappingProxyType(kwargs))

    @classmethod
    def of(cls, value: Any) -> ExpectationSpec:
        """A spec from ``{"type", "kwargs"}`` (or a spec, returned as is)."""
        if isinstance(value, ExpectationSpec):
            return value
        if not isinstance(value, Mapping) or "type" not in value:
            old = " (GX 1.x calls it 'type', not 'expectation_type')" if isinstance(value, Mapping) \
                and "expectation_type" in value else ""
            raise ConfigurationError(f"an expectation is a dict {{'type': ..., 'kwargs': {{...}}}}{old}, "
                                     f"got {value!r}")
        if extra := set(value) - {"type", "kwargs"}:
            raise ConfigurationError(f"expectation {value.get('type')!r} has unknown keys {sorted(extra)}; "
                                     "only 'type' and 'kwargs' are read")
        kwargs = value.get("kwargs") or {}
        if not isinstance(kwargs, Mapping):
            raise ConfigurationError(f"the kwargs of {value['type']!r} must be a dict, got {kwargs!r}")
        return cls(str(value["type"]), kwargs)

    @property
    def column(self) -> str | None:
        """The column the expectation is about (the first of a pair), if any."""
        return self.kwargs.get("column") or self.kwargs.get("column_A")

    @property
    def key(self) -> tuple[str, str | None]:
        """What makes two specs "the same check": type and column."""
        return self.type, self.column

    @property
    def gx_class_name(self) -> str:
        """The GX 1.x class, e.g. ``ExpectColumnValuesToNotBeNull``."""
        return "".join(part.capitalize() for part in self.type.split("_"))

    def to_dict(self) -> dict[str, Any]:
        """``{"type", "kwargs"}`` with plain lists, JSON-safe."""
        return {"type": self.type,
                "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in self.kwargs.items()}}


def parse_suite(items: Iterable[Any] | None) -> tuple[ExpectationSpec, ...]:
    """Specs from a list of dicts; an error names the expectation's position and what to fix."""
    if items is None:
        return ()
    if isinstance(items, (str, bytes, Mapping)):
        raise ConfigurationError("expectations must be a list of {'type': ..., 'kwargs': {...}} dicts")
    specs = []
    for index, item in enumerate(items, start=1):
        try:
            specs.append(ExpectationSpec.of(item))
        except ConfigurationError as exc:
            raise ConfigurationError(f"expectation #{index} (index {index - 1}): {exc}") from None
    return tuple(specs)


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _checked_kwargs(kind: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    required, optional = SUPPORTED[kind]
    allowed = (*required, *optional)
    for name in kwargs:
        if name not in allowed:
            raise ConfigurationError(f"{kind} has no argument {name!r}.{_hint(name, allowed)} "
                                     f"Arguments: {', '.join(allowed) or 'none'}")
    if missing := [name for name in required if name not in kwargs]:
        raise ConfigurationError(f"{kind} needs {', '.join(missing)}")
    checked = {name: _checked_value(kind, name, value) for name, value in kwargs.items()}
    if "min_value" in allowed:
        _check_range(kind, checked)
    return checked


def _checked_value(kind: str, name: str, value: Any) -> Any:
    where = f"{kind}: {name}"
    if name in _NAMES:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{where} must be a non-empty string, got {value!r}")
        if name == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise ConfigurationError(f"{where} is not a valid regular expression: {exc}") from None
        return value
    if name in _LISTS:
        return _scalar_list(where, value)
    if name in _FLAGS:
        if not isinstance(value, bool):
            raise ConfigurationError(f"{where} must be true or false, got {value!r}")
        return value
    if name == "mostly":
        if not _is_number(value) or not 0 < value <= 1:
            raise ConfigurationError(f"{where} is the share of rows that must pass: a number in (0, 1], got {value!r}")
        return value
    if name == "value":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{where} must be a whole number >= 0, got {value!r}")
        return value
    if value is not None and not _is_number(value):  # min_value / max_value
        raise ConfigurationError(f"{where} must be a number (or null for no bound), got {value!r}")
    return value


def _scalar_list(where: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{where} must be a list, got {value!r}")
    items = tuple(value)
    if not items:
        raise ConfigurationError(f"{where} must not be empty")
    if bad := [v for v in items if v is not None and not isinstance(v, (str, int, float, bool))]:
        raise ConfigurationError(f"{where} may hold only strings, numbers, booleans and null, got {bad[:3]!r}")
    return items


def _check_range(kind: str, kwargs: Mapping[str, Any]) -> None:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise ConfigurationError(f"{kind} needs min_value, max_value or both")
    if low is not None and high is not None and low > high:
        raise ConfigurationError(f"{kind}: min_value {low!r} is above max_value {high!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
