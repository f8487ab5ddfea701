"""Does a feature help? A quick repeated cross-validation with and without it, on the same folds.

The base model is the training pipeline (``training.build_pipeline``: imputation, scaling, one-hot encoding)
over the table's own columns; each candidate is scored by adding it alone. The lift of a fold is the paired
difference of the two scores on that fold; a feature helps when the mean lift reaches ``min_lift`` *and*
exceeds ``noise_k`` standard deviations of the fold lifts, so a lift that CV noise explains is not reported.
scikit-learn and pandas are imported when a measurement runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_aimod.core.ml.training import ESTIMATORS, build_pipeline, infer_task, split_columns
from airflow_aimod.exceptions import ConfigurationError

MIN_ROWS = 50


@dataclass(frozen=True)
class LiftRule:
    """How features are measured and which count as helping (declared, validated at construction)."""

    min_lift: float = 0.01
    noise_k: float = 1.0
    folds: int = 5
    repeats: int = 2
    estimator: str = "linear"
    max_seconds: float = 300.0
    random_state: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_lift < 1 or not 0 <= self.noise_k <= 10:
            raise ConfigurationError(f"min_lift must be in [0, 1) and noise_k in [0, 10]; got {self.min_lift}, "
                                     f"{self.noise_k}")
        if not 2 <= self.folds <= 20 or not 1 <= self.repeats <= 10:
            raise ConfigurationError(f"cv_folds must be 2..20 and cv_repeats 1..10; got {self.folds}, {self.repeats}")
        if self.estimator not in ESTIMATORS:
            raise ConfigurationError(f"unknown estimator {self.estimator!r}; choose from {', '.join(ESTIMATORS)}")
        if not 0 < self.max_seconds <= 86_400:
            raise ConfigurationError(f"max_seconds must be in (0, 86400], got {self.max_seconds}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def judge(self, lifts: Sequence[float]) -> tuple[bool, str]:
        """Whether fold lifts show a real gain, and why (the numbers that decided)."""
        mean, std = _mean_std(lifts)
        if mean < self.min_lift:
            return False, f"mean lift {mean:.4g} is below the minimum {self.min_lift:g}"
        if mean <= self.noise_k * std:
            return False, f"mean lift {mean:.4g} is within {self.noise_k:g}× the fold spread ({std:.4g}): CV noise"
        return True, f"mean lift {mean:.4g} ≥ {self.min_lift:g} and > {self.noise_k:g}× the fold spread ({std:.4g})"


def scoring_for(task: str, y: Any) -> str:
    """ROC AUC for two classes, macro F1 for more, R² for regression (lifts comparable across tables)."""
    if task == "regression":
        return "r2"
    return "roc_auc" if y.nunique() == 2 else "f1_macro"


class FeatureLift:
    """Measure candidate feature columns of a DataFrame against the base columns; ``clock`` bounds the time."""

    def __init__(self, rule: LiftRule, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rule, self.clock = rule, clock

    def measure(self, frame: Any, *, target: str, features: Sequence[str], task: str = "auto") -> dict[str, Any]:
        """``{"task", "scoring", "rows", "base_columns", "baseline": {"mean", "std"}, "features": {name: {...}}}``."""
        from sklearn.model_selection import cross_val_score

        frame = frame[frame[target].notna()].reset_index(drop=True)
        if len(frame) < MIN_ROWS:
            raise ConfigurationError(f"{len(frame)} rows with a {target!r} value: at least {MIN_ROWS} are needed "
                                     "to measure a feature's lift")
        task = task if task != "auto" else infer_task(frame[target].tolist())
        base = frame.drop(columns=list(features))
        numeric, categorical, _ = split_columns(base, target)
        x, y = base.drop(columns=[target]), frame[target]
        scoring, splits = scoring_for(task, y), self._splits(task, x, y)
        base_scores = cross_val_score(self._pipeline(task, numeric, categorical), x, y, cv=splits, scoring=scoring)
        started, results = self.clock(), {}
        for name in features:
            if self.clock() - started > self.rule.max_seconds:
                spent = f"not measured: the {self.rule.max_seconds:g} s budget was spent"
                results[name] = {"helps": False, "why": spent}
                continue
            column, kind = _feature_column(frame[name])
            if column.notna().sum() < MIN_ROWS or column.nunique(dropna=True) <= 1:
                results[name] = {"helps": False, "why": "constant or mostly empty on these rows"}
                continue
            pipe = self._pipeline(task, [*numeric, name], categorical) if kind == "numeric" else \
                self._pipeline(task, numeric, [*categorical, name])
            try:
                scores = cross_val_score(pipe, x.assign(**{name: column}), y, cv=splits, scoring=scoring,
                                         error_score="raise")
            except (ValueError, TypeError) as exc:  # values scikit-learn cannot use: this feature only
                results[name] = {"helps": False, "why": f"could not be measured: {str(exc).splitlines()[0][:200]}"}
                continue
            results[name] = self._result(base_scores, scores)
        b_mean, b_std = _mean_std(base_scores)
        return {"task": task, "scoring": scoring, "rows": len(frame), "base_columns": numeric + categorical,
                "baseline": {"mean": _r(b_mean), "std": _r(b_std)}, "features": results}

    def _result(self, base_scores: Any, scores: Any) -> dict[str, Any]:
        lifts = [float(s - b) for s, b in zip(scores, base_scores)]
        helps, why = self.rule.judge(lifts)
        mean, std = _mean_std(lifts)
        return {"helps": helps, "why": why, "lift": _r(mean), "lift_std": _r(std),
                "score": _r(sum(scores) / len(scores)),
                "folds": len(lifts)}

    def _pipeline(self, task: str, numeric: list[str], categorical: list[str]) -> Any:
        return build_pipeline(self.rule.estimator, task, numeric, categorical, random_state=self.rule.random_state)

    def _splits(self, task: str, x: Any, y: Any) -> list[Any]:
        from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

        r = self.rule
        stratified = task == "classification" and y.value_counts().min() >= r.folds
        cls = RepeatedStratifiedKFold if stratified else RepeatedKFold
        return list(cls(n_splits=r.folds, n_repeats=r.repeats, random_state=r.random_state).split(x, y))


def _feature_column(values: Any) -> tuple[Any, str]:
    """A feature's values as scikit-learn takes them: floats (infinities as missing), or text as a category."""
    if values.dtype.kind in "biuf":
        return values.astype("float64").replace([math.inf, -math.inf], math.nan), "numeric"
    return values.map(lambda v: None if v is None or v != v else str(v)), "categorical"


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def _r(value: float) -> float:
    return float(f"{float(value):.6g}")
