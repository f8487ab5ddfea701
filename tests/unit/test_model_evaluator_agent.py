"""The model evaluator graph: real MLflow registry (SQLite in tmp), real executor and guard, real checkpointer.

Version 1 of ``churn`` is a weak model (it sees only ``region``, which is noise); version 2 a linear
model over every column: 2 must beat 1, and 1 must not replace 2.
"""

from __future__ import annotations

import pytest

from airflow_aimod.core.agents.model_evaluator import EvaluatorTools, build_graph
from airflow_aimod.core.agents.runtime import AgentRuntime
from airflow_aimod.core.checkpoints import open_checkpointer
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.llm.offline import OfflineChatModel
from airflow_aimod.core.ml import PromotionRule
from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.core.registry import get_agent
from airflow_aimod.core.runner import AgentRunner
from airflow_aimod.core.state import initial_state
from airflow_aimod.core.tracing import ListSink, Tracer
from airflow_aimod.demo.ml import with_churn_table
from tests.support.scripted import ScriptedChatModel

pytestmark = pytest.mark.timeout(900)  # training and MLflow set-up on a shared, loaded machine

FEATURES = "id, tenure_months, monthly_spend, support_tickets, plan, region, churned"
TRAIN = f"SELECT {FEATURES} FROM customer_churn WHERE snapshot_month < '2024-10'"
HOLDOUT = f"SELECT {FEATURES} FROM customer_churn WHERE snapshot_month >= '2024-10'"
RULE = PromotionRule(primary="roc_auc", min_lift=0.02, guards={"brier": 0.02}, min_samples=100)


def registered_models(db, tracker):
    """The churn table's registry in ``tracker``: v1 (region only), v2 (all columns)."""
    import sqlite3

    from airflow_aimod.core.ml.drift import columns_from_rows
    from airflow_aimod.core.ml.training import Trainer, TrainingPlan, frame_from_columns

    cur = sqlite3.connect(db).execute(TRAIN)
    frame = frame_from_columns(columns_from_rows([d[0] for d in cur.description], cur.fetchall()))
    for columns in (["region", "churned"], list(frame.columns)):
        plan = TrainingPlan(target="churned", estimators=("linear",), cv_folds=2)
        result = Trainer(plan).fit(frame[columns])
        tracker.log_training(result, experiment="churn", params=plan.params(), registered_name="churn")
    return tracker


@pytest.fixture(scope="module")
def churn(warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluator")
    db = with_churn_table(warehouse, tmp / "churn.db")
    tracker = MlflowTracker(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=str(tmp / "artifacts"))
    return db, registered_models(db, tracker)


def run(churn, challenger, *, champion_alias="champion", model=None, sql=HOLDOUT, name="churn"):
    db, tracker = churn
    spec = get_agent("model_evaluator")
    runtime = AgentRuntime(spec=spec, envelope=spec.envelope, llm=model or OfflineChatModel(),
                           tracer=Tracer(trace_id="t-1", agent=spec.name, sinks=[ListSink()]))
    with open_checkpointer("memory://") as saver, SqliteReadOnlyExecutor(db) as executor:
        tools = EvaluatorTools(tracker, RULE, model_name=name, challenger=challenger, target="churned",
                               executor=executor, holdout_sql=sql, champion_alias=champion_alias)
        state = initial_state(request=f"Evaluate {name} version {challenger}", agent=spec.name, tier=3, trace_id="t-1")
        return AgentRunner(build_graph(runtime, tools), saver, thread_id="t").start(state).state


def test_the_better_challenger_is_fit_to_promote_and_the_verdict_is_in_mlflow(churn):
    churn[1].set_alias("churn", "champion", "1")
    state = run(churn, "2")
    result = state["result"]
    assert state["status"] == "answered" and result["verdict"]["verdict"] == "promote"
    assert result["champion_version"] == "1" and result["challenger"]["roc_auc"] > result["champion"]["roc_auc"] + 0.1
    assert result["assessment"]["verdict"] == "normal"
    assert "fit to promote" in result["explanation"] and "roc_auc passes" in result["explanation"]
    runs = churn[1].search_runs(["churn-evaluations"])
    logged = next(r for r in runs if r["run_id"] == result["evaluation_run_id"])
    assert logged["tags"]["aimod.verdict"] == "promote" and logged["metrics"]["challenger_roc_auc"] == \
        result["challenger"]["roc_auc"]
    assert churn[1].alias_version("churn", "champion") == "1"   # the evaluator never moves an alias


def test_the_weaker_challenger_keeps_the_champion(churn):
    churn[1].set_alias("churn", "champion", "2")
    state = run(churn, "1")
    assert state["result"]["verdict"]["verdict"] == "keep_champion"
    assert state["result"]["assessment"]["verdict"] == "anomalous" and "roc_auc" in state["result"]["verdict"]["reason"]


def test_a_small_holdout_is_unknown(churn):
    state = run(churn, "2", sql=HOLDOUT + " LIMIT 40")
    assert state["result"]["verdict"]["verdict"] == "unknown" and "at least 100" in state["result"]["verdict"]["reason"]
    assert state["result"]["assessment"]["verdict"] == "unknown" and "Cannot judge" in state["result"]["explanation"]


def test_no_champion_alias_means_the_first_version_may_be_promoted(churn):
    state = run(churn, "2", champion_alias="nobody")
    assert state["result"]["champion"] is None and state["result"]["verdict"]["verdict"] == "promote"


def test_the_model_explains_but_cannot_change_the_verdict(churn):
    churn[1].set_alias("churn", "champion", "2")
    liar = ScriptedChatModel.of([{"summary": "Promote it, it is great.", "confidence": 1.0}])
    state = run(churn, "1", model=liar)
    assert state["result"]["verdict"]["verdict"] == "keep_champion"
    assert state["result"]["assessment"]["verdict"] == "anomalous"


def test_an_unknown_model_version_fails_safely(churn):
    state = run(churn, "99")
    assert state["status"] in ("escalated", "failed") and "MLflow: Model Version (name=churn, version=99) not found" in state["reason"]
