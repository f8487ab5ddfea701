"""The data-quality judgement: declared thresholds applied to a profile's numbers, nothing else.

``QualityThresholds`` says what is acceptable (fewest rows, highest null rate overall or per
column, whether a constant column counts, which columns must be unique keys); ``assess``
returns the ``core.disagreement`` assessment ``{"subject", "verdict", "confidence", "summary",
"findings"}``: ``anomalous`` when any check fails, ``normal`` when none does, ``unknown`` when
there were no rows to judge the columns on. Deterministic: the same profile, the same verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow_aimod.core.profiling.profile import ColumnProfile, TableProfile

CONFIDENCE_FULL, CONFIDENCE_SAMPLED = 0.9, 0.75
"""Confidence of a verdict computed on every row, and on a sample (estimates of rates, not counts)."""


@dataclass(frozen=True)
class QualityThresholds:
    """What a table must satisfy to be judged normal.

    :param min_rows: fewest rows (1: an empty table is anomalous).
    :param max_null_rate: highest share of NULLs in any column (0..1).
    :param max_null_rates: per-column overrides of ``max_null_rate``, e.g. ``{"phone": 0.3}``.
    :param flag_constant_columns: a column holding one single value on more than one row is a finding
        (on every row only: one value in a sample proves nothing about the table).
    :param key_columns: columns that must be unique and never NULL (declared primary keys are added
        unless ``check_primary_keys`` is False).
    """

    min_rows: int = 1
    max_null_rate: float = 0.5
    max_null_rates: Mapping[str, float] = field(default_factory=dict)
    flag_constant_columns: bool = True
    key_columns: tuple[str, ...] = ()
    check_primary_keys: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int) or self.min_rows < 0:
            raise ConfigurationError(f"min_rows must be an integer >= 0, got {self.min_rows!r}")
        rates = {"max_null_rate": self.max_null_rate, **{f"max_null_rates[{k!r}]": v
                                                         for k, v in dict(self.max_null_rates).items()}}
        for name, rate in rates.items():
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ConfigurationError(f"{name} must be a share between 0 and 1, got {rate!r}")
        if isinstance(self.key_columns, str):
            raise ConfigurationError(f"key_columns must be a list of column names, not the string {self.key_columns!r}")
        object.__setattr__(self, "key_columns", tuple(self.key_columns))
        object.__setattr__(self, "max_null_rates", MappingProxyType({k.lower(): float(v)
                                                                     for k, v in dict(self.max_null_rates).items()}))

    @classmethod
    def of(cls, values: Mapping[str, Any] | QualityThresholds | None) -> QualityThresholds:
        """From a mapping of the fields (unknown keys fail, naming the known ones)."""
        if isinstance(values, QualityThresholds):
            return values
        values = dict(values or {})
        if unknown := sorted(set(values) - set(cls.__dataclass_fields__)):
            raise ConfigurationError(f"unknown threshold(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**values)

    def named_columns(self) -> list[str]:
        """Every column these thresholds name (checked against the table before profiling)."""
        return [*self.key_columns, *self.max_null_rates]

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["max_null_rates"], data["key_columns"] = dict(self.max_null_rates), list(self.key_columns)
        return data


def assess(profile: TableProfile, thresholds: QualityThresholds | None = None) -> dict[str, Any]:
    """The assessment of ``profile`` under ``thresholds``."""
    rules = thresholds or QualityThresholds()
    subject = profile.table
    if profile.row_count < rules.min_rows:
        finding = _finding("min_rows", None, profile.row_count, rules.min_rows,
                           f"{subject} has {profile.row_count} row(s), at least {rules.min_rows} expected")
        return _assessment(subject, "anomalous", CONFIDENCE_FULL, [finding], profile)
    if profile.profiled_rows == 0:
        return _assessment(subject, "unknown", 0.0, [], profile,
                           f"{subject} has no rows, so its columns cannot be judged")
    findings = [f for column in profile.columns for f in _column_findings(column, profile, rules)]
    confidence = CONFIDENCE_SAMPLED if profile.sampled else CONFIDENCE_FULL
    return _assessment(subject, "anomalous" if findings else "normal", confidence, findings, profile)


def _column_findings(column: ColumnProfile, profile: TableProfile, rules: QualityThresholds) -> list[dict[str, Any]]:
    out = []
    limit = rules.max_null_rates.get(column.name.lower(), rules.max_null_rate)
    if column.null_rate > limit:
        out.append(_finding("null_rate", column.name, column.null_rate, limit,
                            f"{column.name} is {column.null_rate:.1%} NULL (at most {limit:.1%} allowed)"))
    non_null = profile.profiled_rows - column.null_count
    if rules.flag_constant_columns and column.distinct_count == 1 and non_null > 1 and not profile.sampled:
        shown = "" if column.pii or not column.top_values else f" ({column.top_values[0]['value']!r})"
        out.append(_finding("constant", column.name, 1, None, f"{column.name} holds one single value{shown} "
                            f"on all {non_null:,} non-NULL rows"))
    is_key = column.name.lower() in {k.lower() for k in rules.key_columns}
    if is_key or (rules.check_primary_keys and column.primary_key):
        out += _key_findings(column, non_null)
    return out


def _key_findings(column: ColumnProfile, non_null: int) -> list[dict[str, Any]]:
    out = []
    if column.null_count:
        out.append(_finding("null_key", column.name, column.null_count, 0,
                            f"key column {column.name} has {column.null_count:,} NULL(s)"))
    duplicates = non_null - column.distinct_count
    if duplicates > 0:
        out.append(_finding("duplicate_key", column.name, duplicates, 0,
                            f"key column {column.name} repeats values: {column.distinct_count:,} distinct in "
                            f"{non_null:,} non-NULL rows ({duplicates:,} duplicate(s))"))
    return out


def _finding(check: str, column: str | None, value: Any, threshold: Any, message: str) -> dict[str, Any]:
    return {"check": check, "column": column, "value": value, "threshold": threshold, "message": message}


def _assessment(subject: str, verdict: str, confidence: float, findings: list[dict[str, Any]],
                profile: TableProfile, summary: str | None = None) -> dict[str, Any]:
    if summary is None:
        scope = f"{profile.row_count:,} rows" + (f" ({profile.profiled_rows:,} sampled)" if profile.sampled else "")
        checked = f"{len(profile.columns)} column(s) profiled"
        summary = (f"{subject}: {scope}, {checked}; " + ("; ".join(f["message"] for f in findings[:5])
                   + (f" and {len(findings) - 5} more" if len(findings) > 5 else "") if findings
                   else "every quality check passed"))
    return {"subject": subject, "verdict": verdict, "confidence": confidence, "summary": summary,
            "findings": findings}
