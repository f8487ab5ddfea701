"""core.ml.drift on samples with known answers: some columns drifted, others not; tiny samples; new categories."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from airflow_aimod.core.ml import DriftPolicy
from airflow_aimod.core.ml.drift import DriftDetector, columns_from_rows
from airflow_aimod.exceptions import ConfigurationError


def samples(n_ref=2000, n_cur=2000, seed=7):
    rng = np.random.default_rng(seed)
    ref = {"amount": rng.normal(100, 15, n_ref), "age": rng.normal(40, 10, n_ref),
           "country": rng.choice(["DE", "FR", "US"], n_ref, p=[0.5, 0.3, 0.2]),
           "channel": rng.choice(["web", "app"], n_ref)}
    cur = {"amount": rng.normal(110, 15, n_cur),                      # drifted: shift of 2/3 sd
           "age": rng.normal(40, 10, n_cur),                          # not drifted
           "country": rng.choice(["DE", "FR", "US", "IT"], n_cur, p=[0.3, 0.3, 0.2, 0.2]),  # drifted, new category
           "channel": rng.choice(["web", "app"], n_cur)}              # not drifted
    return ({k: v.tolist() for k, v in ref.items()}, {k: v.tolist() for k, v in cur.items()})


def test_the_drifted_columns_and_only_those_are_flagged():
    ref, cur = samples()
    report = DriftDetector().compare(ref, cur, categorical=["country", "channel"])
    assert report.verdict == "drift" and sorted(report.drifted) == ["amount", "country"]
    assert report.features["country"]["new_categories"] == ["IT"]
    assert report.assessment("orders")["verdict"] == "anomalous"


def test_every_statistic_matches_scipy_and_a_hand_worked_psi():
    ref, cur = samples()
    f = DriftDetector().compare(ref, cur, categorical=["country"]).features
    ks = stats.ks_2samp(ref["amount"], cur["amount"])
    assert f["amount"]["statistic"] == pytest.approx(ks.statistic, rel=1e-5)
    assert f["amount"]["p_value"] == pytest.approx(ks.pvalue, rel=1e-4)
    w = stats.wasserstein_distance(ref["amount"], cur["amount"]) / np.std(ref["amount"])
    assert f["amount"]["effect"] == pytest.approx(w, rel=1e-5)
    counts = np.array([[ref["country"].count(c) for c in "DE FR IT US".split()],
                       [cur["country"].count(c) for c in "DE FR IT US".split()]])
    assert f["country"]["statistic"] == pytest.approx(stats.chi2_contingency(counts, correction=False)[0], rel=1e-5)
    p, q = counts[0] / counts[0].sum(), counts[1] / counts[1].sum()
    assert f["country"]["effect"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-5)
    pe, qa = np.maximum(p, 1e-4), np.maximum(q, 1e-4)   # PSI = Σ (a − e)·ln(a / e), empty bins floored
    assert f["country"]["psi"] == pytest.approx(float(np.sum((qa - pe) * np.log(qa / pe))), rel=1e-5)


def test_psi_by_hand_on_two_bins():
    ref = {"c": ["a"] * 50 + ["b"] * 50}
    cur = {"c": ["a"] * 80 + ["b"] * 20}
    psi = DriftDetector().compare(ref, cur, categorical=["c"]).features["c"]["psi"]
    assert psi == pytest.approx((0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5), rel=1e-5)


def test_a_tiny_current_sample_is_unknown_never_drift_or_no_drift():
    ref, cur = samples(n_cur=25)
    report = DriftDetector().compare(ref, cur, categorical=["country", "channel"])
    assert report.verdict == "unknown" and report.drifted == []
    assert all(f["drifted"] is None for f in report.features.values())
    assert "fewer than 30" in report.features["amount"]["note"]
    assert report.assessment("x")["verdict"] == "unknown" and report.assessment("x")["confidence"] == 0.0


def test_many_undrifted_columns_raise_no_false_alarm():
    rng = np.random.default_rng(3)
    ref = {f"c{i}": rng.normal(size=400).tolist() for i in range(60)}
    cur = {f"c{i}": rng.normal(size=400).tolist() for i in range(60)}
    report = DriftDetector().compare(ref, cur)
    raw = sum(f["p_value"] < 0.05 for f in report.features.values())
    assert report.verdict == "no_drift" and report.drifted == []
    assert raw >= 1  # unadjusted, about 3 of 60 columns would have been "significant" by chance


def test_a_trivial_shift_in_a_huge_sample_is_significant_but_too_small_to_be_drift():
    rng = np.random.default_rng(5)
    ref, cur = {"x": rng.normal(0, 1, 50_000).tolist()}, {"x": rng.normal(0.04, 1, 50_000).tolist()}
    f = DriftDetector().compare(ref, cur).features["x"]
    assert f["p_adjusted"] < 0.05 and f["effect"] < 0.1 and f["drifted"] is False


def test_permutation_methods_agree_on_the_known_drift():
    ref, cur = samples(n_ref=300, n_cur=300)
    policy = DriftPolicy(numeric_method="wasserstein", categorical_method="jensenshannon", permutations=200)
    report = DriftDetector(policy).compare(ref, cur, categorical=["country", "channel"])
    assert sorted(report.drifted) == ["amount", "country"]
    assert report.features["amount"]["method"] == "wasserstein"


def test_prediction_drift_is_reported_and_identifiers_skipped():
    rng = np.random.default_rng(1)
    ref = {"score": rng.beta(2, 5, 500).tolist(), "order_ref": [f"o{i}" for i in range(500)]}
    cur = {"score": rng.beta(5, 2, 500).tolist(), "order_ref": [f"n{i}" for i in range(500)]}
    report = DriftDetector().compare(ref, cur, prediction="score")
    assert report.to_dict()["prediction_drift"] is True and report.features["score"]["role"] == "prediction"
    assert report.features["order_ref"]["method"] == "skipped" and report.verdict == "drift"


def test_nulls_are_skipped_and_rows_become_columns():
    cols = columns_from_rows(["a", "b"], [(1, "x"), (None, "y"), (float("nan"), None)])
    assert cols == {"a": [1, None, cols["a"][2]], "b": ["x", "y", None]}
    f = DriftDetector(DriftPolicy(min_samples=2)).compare({"a": [1.0, None, 2.0, 3.0]}, {"a": [1.0, 2.0, None]})
    assert f.features["a"]["n_reference"] == 3 and f.features["a"]["n_current"] == 2


def test_bad_policy_and_columns_say_what_to_do():
    with pytest.raises(ConfigurationError, match="numeric_method"):
        DriftPolicy(numeric_method="psi")
    with pytest.raises(ConfigurationError, match="not in both samples"):
        DriftDetector().compare({"a": [1]}, {"a": [1]}, categorical=["b"])
