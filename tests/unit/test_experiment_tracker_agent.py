"""The experiment tracker graph over a real MLflow store (SQLite in tmp) with runs of known ages and metrics."""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.experiment_tracker import ExperimentTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.ml.experiments import RunQuery, answer
from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.exceptions import ConfigurationError
from tests.support.scripted import ScriptedChatModel

NOW = 1_780_000_000.0  # seconds
DAY = 86_400_000
RUNS = [  # name, age in days, params, metrics
    ("old-champ", 10, {"estimator": "random_forest", "max_depth": "8"}, {"roc_auc": 0.95, "rmse_like_loss": 0.2}),
    ("swift-owl", 3, {"estimator": "random_forest", "max_depth": "6"}, {"roc_auc": 0.88, "f1": 0.70}),
    ("calm-cat", 2, {"estimator": "linear", "max_depth": "6"}, {"roc_auc": 0.91, "f1": 0.66}),
    ("dry-run", 1, {"estimator": "linear"}, {"f1": 0.5}),
]

pytestmark = pytest.mark.timeout(900)  # training and MLflow set-up on a shared, loaded machine


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("experiments")
    tracker = MlflowTracker(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=str(tmp / "a"))
    client, experiment = tracker.client, tracker.experiment_id("churn")
    for name, age, params, metrics in RUNS:
        run = client.create_run(experiment, start_time=int(NOW * 1000) - age * DAY, run_name=name)
        for k, v in params.items():
            client.log_param(run.info.run_id, k, v)
        for k, v in metrics.items():
            client.log_metric(run.info.run_id, k, v)
        client.set_terminated(run.info.run_id)
    return tracker


def run(tracker, question, model=None, experiments=("churn",)):
    spec = get_agent("experiment_tracker")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-1", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer("memory://") as saver:
        tools = ExperimentTools(tracker, experiments=list(experiments), now=lambda: NOW)
        state = initial_state(request=question, agent=spec.name, tier=3, trace_id="t-1")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="t").start(state).state


def test_the_best_run_this_week_ignores_an_older_better_one(tracker):
    state = run(tracker, "Which run has the best AUC this week?")
    assert state["status"] == "answered"
    found = state["result"]["answer"]
    assert [r["run_name"] for r in found["runs"]] == ["calm-cat", "swift-owl"] and found["considered"] == 2
    assert found["runs"][0]["value"] == 0.91 and "calm-cat" in state["result"]["explanation"]
    assert state["result"]["query"]["since_days"] == 7.0


def test_what_changed_between_two_named_runs(tracker):
    state = run(tracker, "what changed between swift-owl and calm-cat?")
    found = state["result"]["answer"]
    assert found["params_changed"] == {"estimator": {"a": "random_forest", "b": "linear"}}
    assert found["metrics_changed"]["roc_auc"] == {"a": 0.88, "b": 0.91, "change": pytest.approx(0.03)}
    assert "random_forest → linear" in state["result"]["explanation"]


def test_a_metric_no_run_has_is_refused_not_guessed(tracker):
    state = run(tracker, "which run has the best precision?")
    assert state["status"] == "refused" and "which metric?" in state["reason"]


def test_an_empty_experiment_is_refused(tracker):
    tracker.experiment_id("empty")
    state = run(tracker, "latest runs", experiments=("empty",))
    assert state["status"] == "refused" and "no runs" in state["reason"]


def test_a_model_that_invents_a_metric_or_a_winner_changes_nothing(tracker):
    liar = ScriptedChatModel.of([{"query": {"kind": "best", "metric": "accuracy"}, "confidence": 0.99}])
    state = run(tracker, "best run", liar)
    assert state["status"] == "refused" and "no run has metric 'accuracy'" in state["reason"]
    liar = ScriptedChatModel.of([{"query": {"kind": "best", "metric": "roc_auc"}, "confidence": 0.9},
                                 {"summary": "dry-run is the best with 0.99", "confidence": 1.0}])
    state = run(tracker, "best run by roc_auc", liar)
    assert state["result"]["answer"]["runs"][0]["run_name"] == "old-champ"   # computed, whatever the summary says


def test_lower_is_better_metrics_rank_ascending():
    runs = [{"run_id": "a", "start_time": 0, "metrics": {"rmse": 2.0}}, {"run_id": "b", "start_time": 0,
                                                                        "metrics": {"rmse": 1.0}}]
    assert answer(RunQuery(kind="best", metric="rmse"), runs, now_ms=0)["runs"][0]["run_id"] == "b"
    with pytest.raises(ConfigurationError, match="exactly two"):
        RunQuery(kind="compare", run_ids=("a",))
