"""core.ml.training and core.ml.tracking: a known best estimator, the time budget, the baseline, and a real
MLflow store (SQLite in tmp) holding the whole pipeline, which predicts from raw warehouse columns."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.core.ml.training import Trainer, TrainingPlan, frame_from_columns, infer_task
from airflow_aimod.exceptions import ConfigurationError

pytestmark = pytest.mark.timeout(900)  # training and MLflow set-up on a shared, loaded machine


def xor_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return {"customer_id": list(range(n)), "a": a.tolist(), "b": b.tolist(),
            "plan": rng.choice(["basic", "pro", None], n).tolist(), "label": ((a * b) > 0).astype(int).tolist()}


def test_a_nonlinear_target_is_won_by_the_forest_and_beats_the_baseline():
    plan = TrainingPlan(target="label", estimators=("linear", "random_forest"), cv_folds=3)
    result = Trainer(plan).fit(frame_from_columns(xor_data()))
    assert result.task == "classification" and result.estimator == "random_forest"
    assert result.cv["linear"]["mean"] < 0.65 < result.cv["random_forest"]["mean"]
    assert result.metrics["roc_auc"] > 0.8 and result.baseline["roc_auc"] == 0.5
    assert result.dropped == {"customer_id": "identifier-like name and unique values"}
    assert set(result.features) == {"a", "b", "plan"}


def test_a_linear_target_is_won_by_the_linear_model():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, 300)
    cols = {"x": x.tolist(), "y": (3 * x + rng.normal(0, 0.5, 300)).tolist()}
    result = Trainer(TrainingPlan(target="y", estimators=("linear", "random_forest"))).fit(frame_from_columns(cols))
    assert result.task == "regression" and result.estimator == "linear"
    assert result.metrics["r2"] > 0.95 and result.baseline["r2"] <= 0.0 and result.metrics["rmse"] < 1.0


def test_the_wall_clock_budget_skips_the_estimators_left():
    ticks = iter([0.0, 0.0, 100.0, 100.0])
    plan = TrainingPlan(target="label", estimators=("linear", "random_forest", "gradient_boosting"), max_seconds=10)
    result = Trainer(plan, clock=lambda: next(ticks)).fit(frame_from_columns(xor_data(120)))
    assert result.estimator == "linear" and "budget" in result.cv["random_forest"]["skipped"]
    assert "budget" in result.cv["gradient_boosting"]["skipped"]


def test_bad_plans_and_targets_say_what_to_do():
    with pytest.raises(ConfigurationError, match="unknown estimators"):
        TrainingPlan(target="y", estimators=("svm",))
    with pytest.raises(ConfigurationError, match="not a column"):
        Trainer(TrainingPlan(target="nope")).fit(frame_from_columns(xor_data(50)))
    assert infer_task(["yes", "no"]) == "classification" and infer_task([1.5, 2.0, 3.1]) == "regression"


def test_the_run_and_the_registered_pipeline_live_in_a_sqlite_mlflow_store(tmp_path):
    plan = TrainingPlan(target="label", estimators=("random_forest",))
    result = Trainer(plan).fit(frame_from_columns(xor_data()))
    tracker = MlflowTracker(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_root=str(tmp_path / "artifacts"))
    logged = tracker.log_training(result, experiment="churn", params=plan.params(), registered_name="churn")
    assert logged["version"] == "1"
    run = tracker.search_runs(["churn"])[0]
    assert run["run_id"] == logged["run_id"] and run["params"]["estimator"] == "random_forest"
    assert run["metrics"]["holdout_roc_auc"] == result.metrics["roc_auc"]
    assert run["metrics"]["baseline_roc_auc"] == 0.5
    assert tracker.alias_version("churn", "production") is None
    tracker.set_alias("churn", "production", "1")
    assert tracker.alias_version("churn", "production") == "1"
    model = tracker.load_model("models:/churn@production")
    raw = frame_from_columns(xor_data(20, seed=9)).drop(columns=["label"])   # raw columns, id and nulls included
    assert np.allclose(model.predict_proba(raw), result.pipeline.predict_proba(raw))
    assert list((tmp_path / "artifacts").rglob("MLmodel"))
