"""Model evaluation on holdout data with scikit-learn's metrics, and the champion/challenger verdict.

Classification (binary): ROC AUC, PR AUC (average precision), F1, precision and recall at a threshold,
accuracy, the confusion matrix, and calibration (Brier score, expected calibration error over
``calibration_curve``'s uniform bins). Regression: RMSE, MAE, R². ``verdict`` applies a declared
``PromotionRule``. scikit-learn and numpy are imported when a metric is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_aimod.core.ml.policy import PromotionRule
from airflow_aimod.exceptions import ConfigurationError

TASKS = ("classification", "regression")
VERDICT_ASSESSMENT = {"promote": "normal", "keep_champion": "anomalous", "unknown": "unknown"}
"""How a verdict reads to ``core.disagreement``: a challenger fit to promote is ``normal``."""


def classification_metrics(y_true: Sequence[Any], y_score: Sequence[float], *, threshold: float = 0.5,
                           calibration_bins: int = 10) -> dict[str, Any]:
    """Metrics of a binary classifier from true labels (0/1 or two classes) and positive-class scores."""
    import numpy as np
    from sklearn import metrics
    from sklearn.calibration import calibration_curve

    y, score = _binary(y_true), np.asarray(y_score, dtype=float)
    if len(y) != len(score):
        raise ConfigurationError(f"{len(y)} labels but {len(score)} scores: give one score per row")
    pred = (score >= threshold).astype(int)
    both = len(set(y.tolist())) == 2
    clipped = np.clip(score, 0, 1)
    prob_true, prob_pred = calibration_curve(y, clipped, n_bins=calibration_bins, strategy="uniform")
    bins = np.searchsorted(np.linspace(0, 1, calibration_bins + 1)[1:-1], clipped)  # as calibration_curve bins
    weights = np.bincount(bins, minlength=calibration_bins)
    weights = weights[weights > 0] / len(score)
    return {
        "task": "classification", "n": int(len(y)), "positives": int(y.sum()), "threshold": threshold,
        "roc_auc": _r(metrics.roc_auc_score(y, score)) if both else None,
        "pr_auc": _r(metrics.average_precision_score(y, score)) if both else None,
        "f1": _r(metrics.f1_score(y, pred, zero_division=0)),
        "precision": _r(metrics.precision_score(y, pred, zero_division=0)),
        "recall": _r(metrics.recall_score(y, pred, zero_division=0)),
        "accuracy": _r(metrics.accuracy_score(y, pred)),
        "confusion_matrix": metrics.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "brier": _r(metrics.brier_score_loss(y, np.clip(score, 0, 1))),
        "ece": _r(float(np.sum(weights * np.abs(prob_true - prob_pred)))) if len(weights) == len(prob_true) else None,
        "calibration": {"mean_predicted": [_r(v) for v in prob_pred], "fraction_positive": [_r(v) for v in prob_true]},
    }


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, Any]:
    """RMSE, MAE and R² of a regressor's predictions."""
    import numpy as np
    from sklearn import metrics

    y, pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if len(y) != len(pred):
        raise ConfigurationError(f"{len(y)} targets but {len(pred)} predictions: give one prediction per row")
    return {"task": "regression", "n": int(len(y)), "rmse": _r(metrics.root_mean_squared_error(y, pred)),
            "mae": _r(metrics.mean_absolute_error(y, pred)), "r2": _r(metrics.r2_score(y, pred)) if len(y) > 1 else None}


def verdict(rule: PromotionRule, challenger: Mapping[str, Any], champion: Mapping[str, Any] | None) -> dict[str, Any]:
    """``promote``, ``keep_champion`` or ``unknown``, with the evidence: each check and its numbers."""
    n = int(challenger.get("n") or 0)
    checks: list[dict[str, Any]] = []
    if n < rule.min_samples:
        return _verdict("unknown", f"holdout has {n} rows; the rule needs at least {rule.min_samples}", checks, rule)
    if challenger.get(rule.primary) is None:
        return _verdict("unknown", f"the challenger has no {rule.primary} (e.g. one class in the holdout)", checks, rule)
    if champion is None:
        return _verdict("promote", "no champion to beat: the first version", checks, rule)
    if champion.get(rule.primary) is None:
        return _verdict("unknown", f"the champion has no {rule.primary} on this holdout", checks, rule)
    lift = rule.better(rule.primary, challenger[rule.primary], champion[rule.primary])
    checks.append({"metric": rule.primary, "kind": "lift", "challenger": challenger[rule.primary],
                   "champion": champion[rule.primary], "change": _r(lift), "needed": rule.min_lift,
                   "passed": lift >= rule.min_lift})
    for metric, margin in rule.guards.items():
        if challenger.get(metric) is None or champion.get(metric) is None:
            checks.append({"metric": metric, "kind": "guard", "passed": None, "note": "not computed"})
            continue
        change = rule.better(metric, challenger[metric], champion[metric])
        checks.append({"metric": metric, "kind": "guard", "challenger": challenger[metric], "champion": champion[metric],
                       "change": _r(change), "needed": -margin, "passed": change >= -margin})
    failed = [c["metric"] for c in checks if c["passed"] is False]
    if any(c["passed"] is None for c in checks):
        return _verdict("unknown", "a guard metric could not be computed", checks, rule)
    if failed:
        return _verdict("keep_champion", f"the challenger fails on {', '.join(failed)}", checks, rule)
    return _verdict("promote", f"{rule.primary} improves by {_r(lift)} (>= {rule.min_lift}) and no guard metric "
                               f"is worse than its margin", checks, rule)


def _verdict(name: str, reason: str, checks: list[dict[str, Any]], rule: PromotionRule) -> dict[str, Any]:
    return {"verdict": name, "reason": reason, "checks": checks, "rule": rule.to_dict()}


def _binary(labels: Sequence[Any]) -> Any:
    import numpy as np

    values = np.asarray(labels)
    classes = sorted(set(values.tolist()), key=str)
    if set(classes) <= {0, 1, True, False}:
        return values.astype(int)
    if len(classes) > 2:
        raise ConfigurationError(f"binary classification needs two classes; the labels have {len(classes)}")
    return (values == classes[-1]).astype(int)


def _r(value: Any) -> float:
    return float(f"{float(value):.6g}")


def model_metrics(model: Any, frame: Any, target: str, *, threshold: float = 0.5) -> dict[str, Any]:
    """Score a fitted model (a scikit-learn pipeline over raw columns) on a holdout DataFrame holding ``target``:
    binary classifiers by their positive-class probability, multi-class by accuracy and macro F1, regressors
    by their predictions."""
    if target not in frame.columns:
        raise ConfigurationError(f"target {target!r} is not a column of the holdout; columns: "
                                 f"{', '.join(map(str, frame.columns))}")
    frame = frame[frame[target].notna()]
    x, y = frame.drop(columns=[target]), frame[target]
    if not hasattr(model, "predict_proba"):
        return regression_metrics(y.tolist(), model.predict(x).tolist())
    classes = list(model.classes_)
    if len(classes) == 2:
        positive = (y == classes[1]).astype(int)
        return classification_metrics(positive.tolist(), model.predict_proba(x)[:, 1].tolist(), threshold=threshold)
    from sklearn.metrics import accuracy_score, f1_score

    pred = model.predict(x)
    return {"task": "classification", "n": int(len(y)), "accuracy": _r(accuracy_score(y, pred)),
            "f1_macro": _r(f1_score(y, pred, average="macro", zero_division=0))}


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of a ROC AUC from ``positives`` and ``negatives`` cases."""
    if positives < 1 or negatives < 1:
        return float("inf")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) \
        / (positives * negatives)
    return max(var, 0.0) ** 0.5
