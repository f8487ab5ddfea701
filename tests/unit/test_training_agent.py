"""The training orchestrator graph: real executor and guard, real MLflow registry (SQLite in tmp), a SQLite
checkpointer across the approval pause; approving moves the alias, rejecting leaves it."""

from __future__ import annotations

import json

import pytest

from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.agents.training_orchestrator import TrainingTools, build_graph
from airflow_aimod.core.approval import ApprovalRequest
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.core.ml.training import TrainingPlan
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.demo.ml import with_churn_table

DATA = ("SELECT id, tenure_months, monthly_spend, support_tickets, plan, region, churned FROM customer_churn "
        "WHERE snapshot_month < '2024-10'")

pytestmark = pytest.mark.timeout(900)  # training and MLflow set-up on a shared, loaded machine


@pytest.fixture(scope="module")
def setup(warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("training")
    db = with_churn_table(warehouse, tmp / "churn.db")
    return db, MlflowTracker(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=str(tmp / "a")), tmp


class Harness:
    def __init__(self, setup, thread, *, alias="production", sql=DATA, name="churn"):
        self.db, self.tracker, tmp = setup
        self.url, self.thread, self.alias, self.sql, self.name = f"sqlite:///{tmp}/cp.sqlite", thread, alias, sql, name

    def _runner(self, saver, executor):
        spec = get_agent("training_orchestrator")
        runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=OfflineChatModel(),
                               tracer=Tracer(trace_id="t-1", agent=spec.name, sinks=[ListSink()]))
        plan = TrainingPlan(target="churned", estimators=("linear",), cv_folds=2)
        tools = TrainingTools(self.tracker, plan, executor=executor, data_sql=self.sql, experiment="churn",
                              model_name=self.name, promote_alias=self.alias)
        return AgentRunner(build_graph(runtime, tools), saver, thread_id=self.thread)

    def start(self):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.db) as executor:
            state = initial_state(request="Train churn", agent="training_orchestrator", tier=3, trace_id="t-1")
            return self._runner(saver, executor).start(state)

    def resume(self, answer):
        with open_checkpointer(self.url) as saver, SqliteReadOnlyExecutor(self.db) as executor:
            return self._runner(saver, executor).resume(answer)


def test_train_register_pause_then_approval_moves_the_alias(setup):
    h = Harness(setup, "approve")
    paused = h.start()
    assert paused.paused and paused.state["status"] == "needs_approval"
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert (request.action, request.action_id) == ("model.deploy", "churn@production:1")
    assert "version **1**" in request.body and "trivial baseline" in request.body
    json.dumps(paused.state)
    tracker = h.tracker
    assert tracker.alias_version("churn", "production") is None      # nothing moved before the decision
    run = tracker.search_runs(["churn"])[0]
    assert run["metrics"]["holdout_roc_auc"] > run["metrics"]["baseline_roc_auc"] == 0.5
    done = h.resume({"decision": "approve", "reviewer": "alice"})
    result = done.state["result"]
    assert done.state["status"] == "answered" and result["promotion"] == "promoted"
    assert tracker.alias_version("churn", "production") == "1" and result["alias_before"] is None
    assert done.state["approvals"] == [{"action_id": "churn@production:1", "decision": "approve", "reviewer": "alice"}]
    assert "linear won the cross-validation" in result["explanation"]


def test_a_rejection_leaves_the_alias_where_it_was(setup):
    h = Harness(setup, "reject")
    paused = h.start()
    assert ApprovalRequest.from_payload(paused.interrupt).action_id == "churn@production:2"
    done = h.resume({"decision": "reject", "reviewer": "bob"})
    assert done.state["status"] == "rejected" and "left at version 1" in done.state["reason"]
    assert h.tracker.alias_version("churn", "production") == "1"
    assert done.state["result"]["version"] == "2" and done.state["result"]["promotion"] == "rejected"


def test_a_useless_model_is_logged_but_never_proposed(setup):
    sql = "SELECT region, churned FROM customer_churn WHERE snapshot_month < '2024-04'"   # region is noise
    done = Harness(setup, "useless", sql=sql, name="noise").start()
    assert not done.paused and done.state["status"] == "answered"
    assert done.state["result"]["promotion"] == "not_proposed" and "baseline" in done.state["reason"]


def test_a_writing_query_never_trains(setup):
    done = Harness(setup, "write", sql="DELETE FROM customer_churn RETURNING *").start()
    assert done.state["status"] != "answered"
    assert not [e for e in done.state["events"] if e["kind"] == "tool_call" and e["name"] == "model.train"]


def _run_graph(setup, thread, tools_of, *, answer=None):
    """Start (and, with ``answer``, resume) a training orchestrator graph built by ``tools_of(executor)``."""
    db, _, tmp = setup
    spec = get_agent("training_orchestrator")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=OfflineChatModel(),
                           tracer=Tracer(trace_id="t-2", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer(f"sqlite:///{tmp}/cp-split.sqlite") as saver, SqliteReadOnlyExecutor(db) as executor:
        runner = AgentRunner(build_graph(runtime, tools_of(executor)), saver, thread_id=thread)
        if answer is not None:
            return runner.resume(answer)
        return runner.start(initial_state(request="Train churn", agent=spec.name, tier=3, trace_id="t-2"))


def test_the_fit_alone_logs_a_run_and_hands_it_off_the_next_graph_registers_and_promotes_it(setup):
    tracker = setup[1]
    plan = TrainingPlan(target="churned", estimators=("linear",), cv_folds=2)
    fit = _run_graph(setup, "fit", lambda ex: TrainingTools(tracker, plan, executor=ex, data_sql=DATA,
                                                             experiment="split", fit_only=True))
    result = fit.state["result"]
    assert fit.state["status"] == "answered" and result["run_id"] and result["version"] is None
    assert result["metrics"]["roc_auc"] > result["baseline"]["roc_auc"]
    assert not [e for e in fit.state["events"] if e["kind"] == "llm_call"]      # no model call in the fit task
    assert "trained and logged as run" in fit.state["reason"]
    handed = {"run_id": result["run_id"], "model_uri": result["model_uri"]}   # what XCom carries

    def after(ex):
        return TrainingTools(tracker, None, fitted=handed, experiment="split", model_name="split_churn",
                             promote_alias="production")

    paused = _run_graph(setup, "after", after)
    request = ApprovalRequest.from_payload(paused.interrupt)
    assert paused.paused and request.action_id == "split_churn@production:1"
    assert result["run_id"] in request.body and "trivial baseline" in request.body
    done = _run_graph(setup, "after", after, answer={"decision": "approve", "reviewer": "carol"})
    assert done.state["status"] == "answered" and done.state["result"]["promotion"] == "promoted"
    assert tracker.alias_version("split_churn", "production") == "1"
    assert done.state["result"]["metrics"] == result["metrics"]   # read back from MLflow, the same numbers
    reads = [e for e in done.state["events"] if e["kind"] == "tool_call" and e["name"] == "model.read"]
    assert len(reads) == 1 and not [e for e in done.state["events"] if e["name"] in ("sql.read", "model.train")]


def test_a_run_the_orchestrator_did_not_log_is_never_registered(setup):
    import mlflow

    tracker = setup[1]
    mlflow.set_tracking_uri(tracker.tracking_uri)
    with mlflow.start_run(experiment_id=tracker.experiment_id("split")) as foreign:
        mlflow.log_metric("holdout_roc_auc", 0.99)
    done = _run_graph(setup, "foreign", lambda ex: TrainingTools(
        tracker, None, fitted={"run_id": foreign.info.run_id}, experiment="split", model_name="foreign"))
    assert done.state["status"] != "answered" and "was not logged by training_orchestrator" in json.dumps(done.state)
    assert not [e for e in done.state["events"] if e["kind"] == "tool_call" and e["name"] == "model.register"]


def test_the_tools_say_which_mode_they_are_in():
    plan = TrainingPlan(target="churned")
    for kwargs, message in [({"data_sql": DATA, "fitted": {"run_id": "r"}}, "exactly one of data_sql"),
                            ({}, "exactly one of data_sql"), ({"fitted": {"model_uri": "x"}}, "run_id"),
                            ({"data_sql": DATA, "fit_only": True, "model_name": "m"}, "next task's")]:
        with pytest.raises(ValueError, match=message):
            TrainingTools(None, plan, **kwargs)
