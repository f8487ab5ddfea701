"""Anomaly detection on series whose answers were worked out by hand (see each test's arithmetic)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pytest

from airflow_aimod.core.anomaly import AnomalyDetector, Sensitivity
from airflow_aimod.core.anomaly.stats import modified_z, quantile
from airflow_aimod.exceptions import ConfigurationError


def test_robust_z_flags_the_spike_only():
    # median 10; |deviations| sorted 0,0,0,0,1,1,1,1,2,40 -> MAD 1; 50 scores 0.6745*40 = 26.98, 12 scores 1.35.
    found = AnomalyDetector(method="robust_z").detect([10, 11, 9, 10, 12, 10, 11, 9, 10, 50])
    assert found.verdict == "anomalous"
    assert [(f["index"], f["direction"]) for f in found.flags] == [(9, "spike")]
    assert found.flags[0]["score"] == pytest.approx(26.98, abs=0.01)
    assert modified_z(12, [10, 11, 9, 10, 12, 10, 11, 9, 10, 50]) == pytest.approx(1.349)


def test_iqr_fences_follow_tukey():
    # 1..9 and 100: Q1 = 3.25, Q3 = 7.75 (type 7), IQR 4.5 -> fences -3.5 and 14.5 at k = 1.5.
    values = [*range(1, 10), 100]
    assert (quantile(values, 0.25), quantile(values, 0.75)) == (3.25, 7.75)
    found = AnomalyDetector(method="iqr").detect(values)
    assert [f["value"] for f in found.flags] == [100]
    assert (found.flags[0]["expected_low"], found.flags[0]["expected_high"]) == (-3.5, 14.5)


def _weekly(saturday_spike: bool) -> list[tuple[date, float]]:
    start = date(2024, 4, 1)  # a Monday
    series = []
    for day in range(35):
        d = start + timedelta(days=day)
        value = 30.0 + day % 2 if d.weekday() >= 5 else 100.0 + day % 3
        series.append((d, value))
    if saturday_spike:
        series[19] = (series[19][0], 100.0)  # 2024-04-20, the third Saturday, as busy as a weekday
    return series


def test_seasonal_baseline_knows_weekends():
    series = _weekly(saturday_spike=True)
    seasonal = AnomalyDetector(method="seasonal").detect(series)
    assert [(f["ts"], f["season"], f["direction"]) for f in seasonal.flags] == [
        ("2024-04-20T00:00:00", "Saturday", "spike")]
    # Against the whole series, every ordinary weekend looks like a drop: why the seasonal method exists.
    global_z = AnomalyDetector(method="robust_z").detect(series)
    assert len(global_z.flags) >= 9 and {f["direction"] for f in global_z.flags} == {"drop"}


def test_auto_picks_seasonal_with_enough_history_and_finds_nothing_in_a_clean_week_pattern():
    found = AnomalyDetector().detect(_weekly(saturday_spike=False))
    assert (found.method, found.verdict, found.flags) == ("seasonal", "normal", [])


def test_hourly_series_use_weekday_and_hour():
    start = datetime(2024, 4, 1)
    series = [(start + timedelta(hours=h), 10.0 + (h % 24 >= 9) * 40 + h % 2) for h in range(24 * 35)]
    series[24 * 14 + 3] = (series[24 * 14 + 3][0], 55.0)  # 03:00 on a Monday, as busy as office hours
    found = AnomalyDetector(method="seasonal").detect(series)
    assert [(f["ts"], f["season"]) for f in found.flags] == [("2024-04-15T03:00:00", "Monday 03:00")]


def test_sensitivity_is_monotonic():
    rng = random.Random(11)
    values = [rng.gauss(100, 10) for _ in range(300)] + [160, 40, 145]
    flagged = {name: {f["index"] for f in AnomalyDetector(method=m, sensitivity=name).detect(values).flags}
               for m in ("robust_z",) for name in ("low", "medium", "high")}
    assert flagged["low"] <= flagged["medium"] <= flagged["high"]
    assert {300, 301} <= flagged["low"] and len(flagged["high"]) > len(flagged["low"])


@pytest.mark.parametrize("method", ["robust_z", "iqr", "seasonal"])
def test_too_little_history_is_unknown_not_normal(method):
    series = [(date(2024, 1, d), float(d)) for d in range(1, 6)]
    found = AnomalyDetector(method=method).detect(series)
    assert found.verdict == "unknown" and "at least" in found.reason
    assert found.assessment("orders/day")["confidence"] == 0.0


def test_seasonal_without_enough_weeks_is_unknown():
    series = [(date(2024, 1, 1) + timedelta(days=d), 10.0) for d in range(14)]
    assert AnomalyDetector(method="seasonal").detect(series).verdict == "unknown"


def test_constant_series_is_normal_and_one_change_is_flagged():
    assert AnomalyDetector().detect([5.0] * 20).verdict == "normal"
    found = AnomalyDetector().detect([5.0] * 19 + [6.0])
    # MAD is 0, so the mean absolute deviation (1/20) scales it: 1 / (1.253314 * 0.05) = 15.958.
    assert [f["index"] for f in found.flags] == [19] and found.flags[0]["score"] == pytest.approx(15.958)
    # Leave-one-out seasonal baselines of constant seasons have no spread at all: the change is flagged, but
    # no score is made up (never an infinite one).
    series = [(date(2024, 1, 1) + timedelta(days=d), 7.0) for d in range(35)]
    series[30] = (series[30][0], 8.0)
    flags = AnomalyDetector(method="seasonal").detect(series).flags
    assert [(f["index"], f["score"]) for f in flags] == [(30, None)] and "no spread" in flags[0]["score_note"]
    assert "Infinity" not in json.dumps(flags)


def _noisy_week(weeks: int, seed: int) -> list[tuple[date, float]]:
    """Weekdays ~100, weekends ~30, with noise: an ordinary weekly pattern, nothing anomalous."""
    rng, start = random.Random(seed), date(2024, 4, 1)
    return [(start + timedelta(days=d), (30.0 if (start + timedelta(days=d)).weekday() >= 5 else 100.0)
             + rng.gauss(0, 4)) for d in range(7 * weeks)]


@pytest.mark.parametrize("weeks", [3, 4])
def test_a_weekly_pattern_with_too_little_history_is_unknown_not_judged(weeks):
    # 3 weeks: a global robust z would call ordinary weekends anomalous; 4 weeks: each day against 3 others.
    for seed in range(5):
        found = AnomalyDetector().detect(_noisy_week(weeks, seed))
        assert (found.verdict, found.flags) == ("unknown", []), (seed, found)
        assert "weekly pattern" in found.reason and f"only {weeks} point(s) per weekday" in found.reason


def test_without_a_weekly_pattern_short_history_uses_the_whole_series():
    rng = random.Random(5)
    series = [(date(2024, 4, 1) + timedelta(days=d), 100.0 + rng.gauss(0, 4)) for d in range(21)]
    series[10] = (series[10][0], 200.0)
    found = AnomalyDetector().detect(series)
    assert (found.method, [f["index"] for f in found.flags]) == ("robust_z", [10])


def test_missing_values_are_skipped_not_zero():
    found = AnomalyDetector().detect([10, None, 11, float("nan"), 9, 10, 10, 11, 9, 10])
    assert found.points == 8 and found.verdict == "normal"


def test_result_and_assessment_are_json():
    found = AnomalyDetector().detect(_weekly(saturday_spike=True))
    assessment = found.assessment("orders per day")
    assert assessment["verdict"] == "anomalous" and assessment["subject"] == "orders per day"
    json.dumps(found.to_dict())
    json.dumps(assessment)


@pytest.mark.parametrize(("kwargs", "series", "message"), [
    ({"method": "zscore"}, [1.0] * 10, "unknown anomaly method 'zscore'"),
    ({"sensitivity": "extreme"}, [1.0] * 10, "unknown sensitivity 'extreme'"),
    ({}, ["ten"] * 10, "must be numbers"),
    ({}, [("yesterday", 1.0)] * 10, "ISO 8601"),
    ({}, [(date(2024, 1, 1), 1.0), 2.0], "some points have timestamps"),
    ({"method": "seasonal"}, [1.0] * 10, "needs timestamps"),
])
def test_bad_input_says_what_to_do(kwargs, series, message):
    with pytest.raises(ConfigurationError, match=message):
        AnomalyDetector(**kwargs).detect(series)


def test_presets_are_ordered():
    low, medium, high = (Sensitivity.of(n) for n in ("low", "medium", "high"))
    assert low.z > medium.z > high.z and low.iqr_k > medium.iqr_k > high.iqr_k
