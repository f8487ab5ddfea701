"""Training plans and the fit: one scikit-learn pipeline (imputation, encoding, identifier-like columns dropped)
per declared estimator, cross-validated within a wall-clock budget, the best refit and scored on a holdout
against a trivial baseline on the same split. scikit-learn and pandas are imported when a fit runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

ESTIMATORS = ("linear", "gradient_boosting", "random_forest")
TASKS = ("auto", "classification", "regression")
ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$", re.I)


@dataclass(frozen=True)
class TrainingPlan:
    """What to train: ``target`` column, ``task`` (``auto`` infers it from the target), the declared
    ``estimators`` (``linear`` = logistic/ridge, ``gradient_boosting``, ``random_forest``), ``cv_folds``,
    the bounds (``max_rows`` read, ``max_seconds`` of cross-validation, ``n_jobs``), ``holdout`` share."""

    target: str
    task: str = "auto"
    estimators: tuple[str, ...] = ESTIMATORS
    cv_folds: int = 3
    max_rows: int = 100_000
    max_seconds: float = 300.0
    n_jobs: int = 1
    holdout: float = 0.25
    random_state: int = 0
    exclude: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.target:
            raise ConfigurationError("the training plan needs a target column")
        if self.task not in TASKS:
            raise ConfigurationError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        object.__setattr__(self, "estimators", tuple(self.estimators))
        if bad := [e for e in self.estimators if e not in ESTIMATORS] or not self.estimators:
            raise ConfigurationError(f"unknown estimators {bad or '(none)'}; choose from {', '.join(ESTIMATORS)}")
        for name, value, low, high in (("cv_folds", self.cv_folds, 2, 20), ("max_rows", self.max_rows, 20, 10_000_000),
                                       ("n_jobs", self.n_jobs, 1, 64)):
            if not low <= value <= high:
                raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
        if not 0 < self.max_seconds <= 86_400 or not 0.05 <= self.holdout <= 0.5:
            raise ConfigurationError("max_seconds must be in (0, 86400] and holdout in [0.05, 0.5]")

    def params(self) -> dict[str, Any]:
        return {"target": self.target, "task": self.task, "estimators": ",".join(self.estimators),
                "cv_folds": self.cv_folds, "max_rows": self.max_rows, "max_seconds": self.max_seconds,
                "n_jobs": self.n_jobs, "holdout": self.holdout, "random_state": self.random_state}


@dataclass
class TrainingResult:
    """The fitted pipeline and everything said about it (``to_dict`` is what goes to MLflow and XCom)."""

    task: str
    estimator: str
    pipeline: Any
    features: list[str]
    dropped: dict[str, str]
    cv: dict[str, dict[str, Any]]
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    rows: int
    sample: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "estimator": self.estimator, "features": self.features, "dropped": self.dropped,
                "cv": self.cv, "metrics": self.metrics, "baseline": self.baseline, "rows": self.rows}


def infer_task(values: Sequence[Any]) -> str:
    """``classification`` for text, booleans or few distinct integers; ``regression`` otherwise."""
    present = [v for v in values if v is not None and v == v]
    if not present:
        raise ConfigurationError("the target column has no values")
    if any(isinstance(v, (str, bool)) for v in present):
        return "classification"
    integral = all(float(v).is_integer() for v in present)
    return "classification" if integral and len(set(present)) <= 10 else "regression"


def split_columns(frame: Any, target: str, exclude: Sequence[str] = ()) -> tuple[list[str], list[str], dict[str, str]]:
    """(numeric, categorical, dropped-with-reason) feature columns of a DataFrame."""
    numeric, categorical, dropped = [], [], {}
    for name in frame.columns:
        if name == target or name in exclude:
            continue
        col = frame[name]
        distinct, n = col.nunique(dropna=True), int(col.notna().sum())
        if n == 0 or distinct <= 1:
            dropped[name] = "constant or empty"
        elif ID_NAME.search(str(name)) and distinct > 0.9 * n:
            dropped[name] = "identifier-like name and unique values"
        elif col.dtype.kind in "biuf" and col.dtype.kind != "b":
            numeric.append(name)
        elif distinct > 0.9 * n and n > 50:
            dropped[name] = "identifier-like: almost every value is distinct"
        else:
            categorical.append(name)
    return numeric, categorical, dropped


def build_pipeline(estimator: str, task: str, numeric: list[str], categorical: list[str], *, n_jobs: int = 1,
                   random_state: int = 0) -> Any:
    """One scikit-learn Pipeline from raw columns: the ColumnTransformer keeps only the used columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore", min_frequency=5)), categorical),
    ], remainder="drop")
    return Pipeline([("prep", prep), ("model", _estimator(estimator, task, n_jobs, random_state))])


class Trainer:
    """Fit a ``TrainingPlan`` on a DataFrame; ``clock`` is injectable (the wall-clock budget)."""

    def __init__(self, plan: TrainingPlan, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan, self.clock = plan, clock

    def fit(self, frame: Any) -> TrainingResult:
        from sklearn.model_selection import cross_val_score, train_test_split

        plan = self.plan
        if plan.target not in frame.columns:
            raise ConfigurationError(f"target {plan.target!r} is not a column; columns: {', '.join(map(str, frame.columns))}")
        frame = frame[frame[plan.target].notna()].reset_index(drop=True)
        task = plan.task if plan.task != "auto" else infer_task(frame[plan.target].tolist())
        numeric, categorical, dropped = split_columns(frame, plan.target, plan.exclude)
        if not numeric and not categorical:
            raise ConfigurationError(f"no usable feature column besides {plan.target!r} (dropped: {dropped})")
        x, y = frame.drop(columns=[plan.target]), frame[plan.target]
        if task == "classification" and y.nunique() < 2:
            raise ConfigurationError(f"target {plan.target!r} has one class only: nothing to learn")
        stratify = y if task == "classification" and y.value_counts().min() >= 2 else None
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=plan.holdout, random_state=plan.random_state,
                                                  stratify=stratify)
        scoring = _scoring(task, y)
        started, cv = self.clock(), {}
        for name in plan.estimators:
            if self.clock() - started > plan.max_seconds:
                cv[name] = {"skipped": f"the {plan.max_seconds:g} s budget was spent"}
                continue
            pipe = build_pipeline(name, task, numeric, categorical, n_jobs=plan.n_jobs, random_state=plan.random_state)
            scores = cross_val_score(pipe, x_tr, y_tr, cv=plan.cv_folds, scoring=scoring, n_jobs=plan.n_jobs)
            cv[name] = {"scoring": scoring, "mean": _r(scores.mean()), "std": _r(scores.std())}
        best = max((n for n in cv if "mean" in cv[n]), key=lambda n: cv[n]["mean"])
        pipe = build_pipeline(best, task, numeric, categorical, n_jobs=plan.n_jobs, random_state=plan.random_state)
        pipe.fit(x_tr, y_tr)
        baseline = _baseline(task, x_tr, y_tr)
        return TrainingResult(task, best, pipe, numeric + categorical, dropped, cv, holdout_metrics(pipe, task, x_te, y_te),
                              holdout_metrics(baseline, task, x_te, y_te), len(frame), x_te.head(5))


def holdout_metrics(model: Any, task: str, x: Any, y: Any) -> dict[str, Any]:
    """Metrics of a fitted model on held-out rows (``core.ml.evaluation``)."""
    from airflow_aimod.core.ml.evaluation import classification_metrics, regression_metrics

    if task == "regression":
        return regression_metrics(y.tolist(), model.predict(x).tolist())
    classes = list(model.classes_)
    if len(classes) == 2:
        return classification_metrics((y == classes[1]).astype(int).tolist(), model.predict_proba(x)[:, 1].tolist())
    from sklearn.metrics import accuracy_score, f1_score

    pred = model.predict(x)
    return {"task": "classification", "n": int(len(y)), "accuracy": _r(accuracy_score(y, pred)),
            "f1_macro": _r(f1_score(y, pred, average="macro", zero_division=0))}


def _scoring(task: str, y: Any) -> str:
    if task == "regression":
        return "neg_root_mean_squared_error"
    return "roc_auc" if y.nunique() == 2 else "f1_macro"


def _estimator(name: str, task: str, n_jobs: int, seed: int) -> Any:
    from sklearn import ensemble, linear_model

    classify = task == "classification"
    if name == "linear":
        return linear_model.LogisticRegression(max_iter=1000) if classify else linear_model.Ridge()
    if name == "gradient_boosting":
        cls = ensemble.HistGradientBoostingClassifier if classify else ensemble.HistGradientBoostingRegressor
        return cls(random_state=seed)
    cls = ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor
    return cls(n_estimators=100, n_jobs=n_jobs, random_state=seed)


def _baseline(task: str, x: Any, y: Any) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    return (DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor()).fit(x, y)


def frame_from_columns(columns: Mapping[str, Sequence[Any]]) -> Any:
    """A DataFrame from column name → values (what the read-only executor's rows become); a column whose
    values are all numbers (Decimals from Postgres included) becomes float."""
    import numbers

    import pandas as pd

    frame = pd.DataFrame({k: list(v) for k, v in columns.items()})
    for name in frame.columns:
        values = [v for v in frame[name].tolist() if v is not None and v == v]
        if frame[name].dtype.kind in "iu":  # a warehouse integer column may hold NULLs at scoring time
            frame[name] = frame[name].astype("float64")
        elif frame[name].dtype == object and values and all(
                isinstance(v, numbers.Number) and not isinstance(v, bool) for v in values):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


def _r(value: Any) -> float:
    return float(f"{float(value):.6g}")
