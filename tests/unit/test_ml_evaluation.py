"""core.ml.evaluation: metrics against hand-worked values and sklearn, and the champion/challenger rule."""

from __future__ import annotations

import math

import pytest

from airflow_aimod.core.ml import PromotionRule
from airflow_aimod.core.ml.evaluation import auc_standard_error, classification_metrics, regression_metrics, verdict
from airflow_aimod.exceptions import ConfigurationError

Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_classification_metrics_by_hand():
    m = classification_metrics(Y, S, threshold=0.5)
    assert m["roc_auc"] == 0.75                       # 3 of the 4 (positive, negative) pairs ordered right
    assert m["pr_auc"] == pytest.approx((1 / 1) * 0.5 + (2 / 3) * 0.5, rel=1e-5)  # AP = Σ (R_n − R_n−1) P_n
    assert m["confusion_matrix"] == [[2, 0], [1, 1]]
    assert (m["precision"], m["recall"], m["f1"]) == (1.0, 0.5, pytest.approx(2 / 3, rel=1e-5))
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4, rel=1e-5)
    assert m["threshold"] == 0.5 and m["n"] == 4 and m["positives"] == 1 + 1


def test_calibration_error_of_a_perfectly_calibrated_scorer_is_zero():
    y = [0] * 8 + [1] * 2 + [0] * 2 + [1] * 8          # 20 % positive at 0.2, 80 % at 0.8
    m = classification_metrics(y, [0.2] * 10 + [0.8] * 10)
    assert m["ece"] == pytest.approx(0.0, abs=1e-12) and m["calibration"]["fraction_positive"] == [0.2, 0.8]


def test_string_labels_and_a_lower_threshold():
    m = classification_metrics(["no", "no", "yes", "yes"], S, threshold=0.3)
    assert m["confusion_matrix"] == [[1, 1], [0, 2]] and m["recall"] == 1.0
    with pytest.raises(ConfigurationError, match="two classes"):
        classification_metrics(["a", "b", "c"], [0.1, 0.2, 0.3])


def test_regression_metrics_by_hand():
    m = regression_metrics([1, 2, 3, 4], [1, 2, 3, 6])
    assert m["mae"] == 0.5 and m["rmse"] == pytest.approx(math.sqrt(4 / 4)) and m["r2"] == pytest.approx(1 - 4 / 5)


RULE = PromotionRule(primary="roc_auc", min_lift=0.01, guards={"recall": 0.02, "ece": 0.01}, min_samples=100)


def test_a_challenger_that_lifts_the_primary_and_holds_the_guards_is_promoted():
    champ = {"n": 500, "roc_auc": 0.80, "recall": 0.70, "ece": 0.03}
    chall = {"n": 500, "roc_auc": 0.83, "recall": 0.69, "ece": 0.035}
    v = verdict(RULE, chall, champ)
    assert v["verdict"] == "promote" and all(c["passed"] for c in v["checks"])
    assert v["checks"][0]["change"] == pytest.approx(0.03)


def test_a_guard_metric_worse_than_its_margin_keeps_the_champion():
    champ = {"n": 500, "roc_auc": 0.80, "recall": 0.70, "ece": 0.03}
    chall = {"n": 500, "roc_auc": 0.85, "recall": 0.70, "ece": 0.05}     # ece is lower-is-better: 0.02 worse
    v = verdict(RULE, chall, champ)
    assert v["verdict"] == "keep_champion" and "ece" in v["reason"]


def test_too_small_a_lift_or_holdout():
    champ = {"n": 500, "roc_auc": 0.80, "recall": 0.70, "ece": 0.03}
    assert verdict(RULE, {**champ, "roc_auc": 0.805}, champ)["verdict"] == "keep_champion"
    assert verdict(RULE, {**champ, "n": 40, "roc_auc": 0.99}, champ)["verdict"] == "unknown"
    assert verdict(RULE, {**champ, "roc_auc": None}, champ)["verdict"] == "unknown"
    assert verdict(RULE, champ, None)["verdict"] == "promote"


def test_rule_validation():
    with pytest.raises(ConfigurationError, match="0 or more"):
        PromotionRule(min_lift=-1)
    assert PromotionRule.better("rmse", 1.0, 2.0) == 1.0 and PromotionRule.better("r2", 0.5, 0.7) == pytest.approx(-0.2)


def test_auc_standard_error_by_hand():
    # Hanley & McNeil 1982, table: A = 0.8, 50 positives, 50 negatives → Q1 = 0.8/1.2, Q2 = 1.28/1.8
    a, q1, q2 = 0.8, 0.8 / 1.2, 1.28 / 1.8
    by_hand = math.sqrt((a * (1 - a) + 49 * (q1 - a * a) + 49 * (q2 - a * a)) / 2500)
    assert auc_standard_error(0.8, 50, 50) == pytest.approx(by_hand) and by_hand == pytest.approx(0.0438, abs=1e-3)
