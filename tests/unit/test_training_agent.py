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
