"""``aimod ml drift`` and ``aimod ml train`` as a user runs them: CSV files in, JSON out, MLflow on SQLite in tmp."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(900)  # training and MLflow set-up on a shared, loaded machine


def aimod(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "airflow_aimod.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=os.environ.copy(), timeout=600)


@pytest.fixture
def csvs(tmp_path):
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"amount": rng.normal(100, 10, 800), "age": rng.normal(40, 8, 800),
                        "segment": rng.choice(["a", "b"], 800), "store": rng.choice([1, 2, 3], 800)})
    cur = pd.DataFrame({"amount": rng.normal(108, 10, 600), "age": rng.normal(40, 8, 600),
                        "segment": rng.choice(["a", "b", "c"], 600), "store": rng.choice([1, 2, 3], 600)})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    cur.head(20).to_csv(tmp_path / "tiny.csv", index=False)
    return tmp_path


def test_drift_prints_the_verdict_the_drifted_columns_and_each_feature(csvs):
    out = aimod("ml", "drift", "--reference", str(csvs / "ref.csv"), "--current", str(csvs / "cur.csv"),
                "--categorical", "store")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["verdict"] == "drift" and sorted(report["drifted"]) == ["amount", "segment"]
    for feature in report["features"].values():
        assert {"method", "statistic", "p_value", "effect", "psi", "drifted"} <= set(feature)
    assert report["features"]["store"]["kind"] == "categorical" and report["features"]["segment"]["new_categories"] == ["c"]


def test_drift_on_a_tiny_current_file_is_unknown(csvs):
    out = aimod("ml", "drift", "--reference", str(csvs / "ref.csv"), "--current", str(csvs / "tiny.csv"))
    assert out.returncode == 0 and json.loads(out.stdout)["verdict"] == "unknown"


def test_bad_input_is_one_line_without_a_traceback(csvs):
    out = aimod("ml", "drift", "--reference", str(csvs / "nope.csv"), "--current", str(csvs / "cur.csv"))
    assert out.returncode == 2 and out.stderr.strip() == f"aimod: no such CSV file: {csvs / 'nope.csv'}"
    out = aimod("ml", "train", "--csv", str(csvs / "ref.csv"), "--target", "churn")
    assert out.returncode == 2 and "target 'churn' is not a column" in out.stderr and "Traceback" not in out.stderr


def test_train_logs_the_run_with_its_metrics_baseline_and_model(tmp_path):
    from airflow_aimod.core.ml.tracking import MlflowTracker

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 300)
    pd.DataFrame({"order_id": range(300), "x": x, "kind": rng.choice(["p", "q"], 300),
                  "y": 2 * x + rng.normal(0, 1, 300)}).to_csv(tmp_path / "train.csv", index=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    out = aimod("ml", "train", "--csv", str(tmp_path / "train.csv"), "--target", "y", "--tracking-uri", uri,
                "--experiment", "cli", "--max-seconds", "120", "--estimators", "linear,random_forest", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert {"run_id", "model_uri", "estimator", "metrics", "baseline"} <= set(result)
    assert result["estimator"] == "linear" and result["metrics"]["r2"] > 0.9 >= result["baseline"]["r2"]
    tracker = MlflowTracker(tracking_uri=uri)
    run = tracker.search_runs(["cli"])[0]
    assert run["run_id"] == result["run_id"] and run["metrics"]["holdout_rmse"] == result["metrics"]["rmse"]
    model = tracker.load_model(result["model_uri"])
    raw = pd.read_csv(tmp_path / "train.csv").drop(columns=["y"]).head(3)
    assert model.predict(raw).shape == (3,)
    assert (tmp_path / "mlartifacts").is_dir()
