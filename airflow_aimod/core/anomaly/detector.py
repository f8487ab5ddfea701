"""``AnomalyDetector``: flags the points of a metric series that break from their baseline.

Methods: ``robust_z`` (modified z-score against the whole series' median and MAD),
``iqr`` (Tukey fences), ``seasonal`` (each point against the other points of its
weekday — or weekday and hour for sub-daily series — so ordinary weekends are not
"drops"), and ``auto`` (seasonal when every season has enough history; else robust_z, unless
the seasons clearly differ — then too little history to model the pattern is ``unknown``).
Too little history gives the verdict ``unknown`` with the reason, never a guess; no score is infinite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from airflow_aimod.core.anomaly.sensitivity import Sensitivity
from airflow_aimod.core.anomaly.stats import modified_z, quantile, robust_band
from airflow_aimod.exceptions import ConfigurationError

METHODS = ("auto", "robust_z", "iqr", "seasonal")
MIN_POINTS = 8
"""Fewest points a whole-series method judges."""
MIN_PER_SEASON = 4
"""Fewest other points of the same season a seasonal baseline is built from (3 judged noise as anomalies)."""
PATTERN_P = 0.01
"""One-way ANOVA p-value under which the seasons differ: a pattern a whole-series baseline would misjudge."""


@dataclass(frozen=True)
class Detection:
    """What the detector found: a verdict (normal, anomalous, unknown), the flagged points and why."""

    verdict: str
    method: str
    sensitivity: str
    points: int
    reason: str
    flags: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "method": self.method, "sensitivity": self.sensitivity,
                "points": self.points, "reason": self.reason, "flags": list(self.flags)}

    def assessment(self, subject: str) -> dict[str, Any]:
        """The shape other agents' verdicts are compared in (see ``core.disagreement``)."""
        confidence = 0.0 if self.verdict == "unknown" else min(1.0, 0.5 + self.points / 100)
        return {"subject": subject, "verdict": self.verdict, "confidence": round(confidence, 2),
                "summary": self.reason, "findings": list(self.flags)}


class AnomalyDetector:
    """Detect anomalies in ``[(timestamp, value), ...]`` or plain values with one method and sensitivity."""

    def __init__(self, *, method: str = "auto", sensitivity: str | Sensitivity = "medium") -> None:
        if method not in METHODS:
            raise ConfigurationError(f"unknown anomaly method {method!r}; use one of {', '.join(METHODS)}")
        self.method = method
        self.sensitivity = Sensitivity.of(sensitivity)

    def detect(self, series: Iterable[Any]) -> Detection:
        stamps, values = _split(series)
        method = self.method
        if method == "auto":
            method = "seasonal" if stamps and _seasons_ready(_seasons(stamps)) else "robust_z"
            if method == "robust_z" and stamps and (p := _pattern_p(_seasons(stamps), values)) is not None \
                    and p < PATTERN_P:
                return self._result("unknown", "seasonal", len(values), _too_short(_seasons(stamps), p), [])
        if method == "seasonal" and not stamps:
            raise ConfigurationError("the seasonal method needs timestamps: pass (timestamp, value) pairs")
        if len(values) < MIN_POINTS:
            return self._result("unknown", method, len(values),
                                f"only {len(values)} point(s); at least {MIN_POINTS} are needed to judge", [])
        flags = getattr(self, f"_{method}")(stamps, values)
        if method == "seasonal" and flags is None:
            return self._result("unknown", method, len(values), "no weekday has enough history for a seasonal "
                                f"baseline (at least {MIN_PER_SEASON + 1} points of the same season)", [])
        verdict = "anomalous" if flags else "normal"
        reason = (f"{len(flags)} of {len(values)} point(s) outside the {method} baseline "
                  f"({self.sensitivity.name} sensitivity)") if flags else \
            f"all {len(values)} points within the {method} baseline ({self.sensitivity.name} sensitivity)"
        return self._result(verdict, method, len(values), reason, flags)

    def _result(self, verdict: str, method: str, n: int, reason: str, flags: list[dict]) -> Detection:
        return Detection(verdict, method, self.sensitivity.name, n, reason, flags)

    def _robust_z(self, stamps: Sequence[Any], values: Sequence[float]) -> list[dict[str, Any]]:
        band = robust_band(values, self.sensitivity.z)
        scores = [modified_z(v, values) for v in values]
        return [_flag(i, stamps, v, band, scores[i], "robust_z")
                for i, v in enumerate(values) if abs(scores[i]) > self.sensitivity.z]

    def _iqr(self, stamps: Sequence[Any], values: Sequence[float]) -> list[dict[str, Any]]:
        q1, q3 = quantile(values, 0.25), quantile(values, 0.75)
        k = self.sensitivity.iqr_k
        low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        spread = (q3 - q1) or 1.0
        return [_flag(i, stamps, v, (low, high), (v - (q3 if v > high else q1)) / spread, "iqr")
                for i, v in enumerate(values) if v < low or v > high]

    def _seasonal(self, stamps: Sequence[Any], values: Sequence[float]) -> list[dict[str, Any]] | None:
        seasons = _seasons(stamps)
        if not _seasons_ready(seasons):
            return None
        flags = []
        for i, value in enumerate(values):
            others = [values[j] for j, s in enumerate(seasons) if s == seasons[i] and j != i]
            if len(others) < MIN_PER_SEASON:
                continue
            score = modified_z(value, others)
            if abs(score) > self.sensitivity.z:
                flags.append(_flag(i, stamps, value, robust_band(others, self.sensitivity.z), score, "seasonal",
                                   season=_season_name(seasons[i])))
        return flags


def _split(series: Iterable[Any]) -> tuple[list[Any], list[float]]:
    stamps: list[Any] = []
    values: list[float] = []
    for item in series:
        stamp, value = item if isinstance(item, (tuple, list)) and len(item) == 2 else (None, item)
        if value is None:
            continue  # a missing measurement is not a zero
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"series values must be numbers; got {value!r}") from None
        if math.isnan(number):
            continue
        stamps.append(_timestamp(stamp) if stamp is not None else None)
        values.append(number)
    if any(s is None for s in stamps):
        stamps = [] if all(s is None for s in stamps) else _missing_stamps()
    return stamps, values


def _missing_stamps() -> list[Any]:
    raise ConfigurationError("some points have timestamps and some do not: give every point one, or none")


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"cannot read {value!r} as a timestamp; use ISO 8601 (2024-05-31 or "
                                 "2024-05-31T14:00)") from None


def _seasons(stamps: Sequence[datetime]) -> list[tuple[int, int | None]]:
    daily = all(s.hour == s.minute == s.second == 0 for s in stamps)
    return [(s.weekday(), None if daily else s.hour) for s in stamps]


def _seasons_ready(seasons: Sequence[tuple[int, int | None]]) -> bool:
    counts: dict[tuple[int, int | None], int] = {}
    for season in seasons:
        counts[season] = counts.get(season, 0) + 1
    return bool(counts) and all(c > MIN_PER_SEASON for c in counts.values())


def _pattern_p(seasons: Sequence[tuple[int, int | None]], values: Sequence[float]) -> float | None:
    """One-way ANOVA p-value that the seasons share one mean (None when it cannot be tested). Rank tests
    (Kruskal–Wallis) lack the power at three points a season, which is when the answer matters."""
    groups: dict[tuple[int, int | None], list[float]] = {}
    for season, value in zip(seasons, values):
        groups.setdefault(season, []).append(value)
    usable = [g for g in groups.values() if len(g) >= 2]
    if len(usable) < 2 or len(set(values)) < 2:
        return None
    import warnings

    from scipy.stats import f_oneway

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seasons without spread: a degenerate F, handled below
        p = float(f_oneway(*usable).pvalue)
    return p if math.isfinite(p) else None


def _too_short(seasons: Sequence[tuple[int, int | None]], p: float) -> str:
    counts: dict[tuple[int, int | None], int] = {}
    for season in seasons:
        counts[season] = counts.get(season, 0) + 1
    unit = "weekday" if all(s[1] is None for s in seasons) else "weekday and hour"
    return (f"the series has a weekly pattern (ANOVA p = {p:.2g}) but only {min(counts.values())} point(s) "
            f"per {unit}; a seasonal baseline needs at least {MIN_PER_SEASON + 1}, and a whole-series one would "
            "judge ordinary days by the others")


def _season_name(season: tuple[int, int | None]) -> str:
    day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[season[0]]
    return day if season[1] is None else f"{day} {season[1]:02d}:00"


def _flag(i: int, stamps: Sequence[Any], value: float, band: tuple[float, float], score: float, method: str,
          **extra: Any) -> dict[str, Any]:
    low, high = band
    return {"index": i, "ts": stamps[i].isoformat() if stamps else None, "value": value,
            "expected_low": round(low, 6), "expected_high": round(high, 6),
            "score": round(score, 3) if math.isfinite(score) else None,
            **({} if math.isfinite(score) else {"score_note": "the baseline has no spread: any change stands out"}),
            "direction": "spike" if value > high else "drop", "method": method, **extra}
