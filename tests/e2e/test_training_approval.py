"""Training → registry → approval → alias moved, end to end in real Airflow (api-server, scheduler,
dag-processor, triggerer on a Postgres metadata DB) with MLflow in the embedded SQLite store and in a
Postgres backend store; a rejection leaves the alias where it was.

``dags/aimod_training.py`` trains on ``customer_churn`` (``demo.ml.with_churn_table``), registers a version
and parks on the Required Actions page; the test answers through ``PATCH .../hitlDetails`` once the task
is parked and its worker gone (ARCHITECTURE.md: answering earlier races Airflow 3.3.2).
"""

from __future__ import annotations

import json

import pytest

from airflow_aimod.core.approval import APPROVE_LABEL as APPROVE, REJECT_LABEL as REJECT
from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.demo.ml import with_churn_table
from tests.support.stack import AirflowStack
from tests.conftest import REPO
from tests.pg import airflow_connection, throwaway_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(1200)]

DAG_ID, TASK = "aimod_training", "train_churn"
USERS = {"reviewer": "reviewer-pw-1"}
CONF = {"until": "2024-05"}  # ~670 rows: enough to learn, quick to cross-validate on a shared machine


@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-training")
    churn = with_churn_table(warehouse, home / "churn.db")
    with throwaway_database("aimod_e2e_tr") as metadata, throwaway_database("aimod_ckpt_tr") as checkpoints, \
            throwaway_database("aimod_mlflow_tr") as mlflow_db:
        env = {"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints,
               "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(churn)}),
               "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm", "extra": {"backend": "offline"}}),
               "AIRFLOW_CONN_MLPG": airflow_connection(mlflow_db)}
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=REPO / "dags", users=USERS, env=env)
        try:
            airflow.start(timeout=300)  # the machine is shared: give the api-server time to come up
            airflow.wait_for(lambda: airflow.api("GET", f"/dags/{DAG_ID}", user="reviewer").status_code == 200,
                             timeout=180, what=f"the dag-processor to parse {DAG_ID}")
            yield airflow, {"sqlite": MlflowTracker(tracking_uri=f"sqlite:///{home}/aimod/mlflow.db"),
                            "postgres": MlflowTracker(tracking_uri="postgresql+psycopg://" +
                                                      mlflow_db.removeprefix("postgresql://"))}
        finally:
            airflow.stop()


def trigger(stack: AirflowStack, run_id: str, mlflow_conn_id: str = "") -> None:
    resp = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", user="reviewer",
                     json={"dag_run_id": run_id, "logical_date": None, "conf": {**CONF, "mlflow_conn_id": mlflow_conn_id}})
    assert resp.status_code == 200, resp.text


def ti_path(run_id: str) -> str:
    return f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK}"


def state_of(stack: AirflowStack, run_id: str) -> str | None:
    """The task's state; ``api-server busy`` when it does not answer in time (training shares the CPU)."""
    import httpx

    try:
        resp = stack.api("GET", ti_path(run_id), user="reviewer")
    except httpx.TimeoutException:
        return "api-server busy"
    return resp.json().get("state") if resp.status_code == 200 else None


def decide(stack: AirflowStack, run_id: str, option: str) -> dict:
    """Wait until parked with its worker gone, answer ``option``, wait for the end; the outcome from XCom."""
    stack.wait_for(lambda: state_of(stack, run_id) == "awaiting_input" and stack.worker_exited(DAG_ID, run_id, TASK),
                   timeout=600, what=f"{run_id} to train, register and park (last state: {state_of(stack, run_id)})")
    detail = stack.api("GET", f"{ti_path(run_id)}/-1/hitlDetails", user="reviewer").json()
    assert "move churn@production to version" in detail["subject"]
    resp = stack.api("PATCH", f"{ti_path(run_id)}/-1/hitlDetails", user="reviewer",
                     json={"chosen_options": [option], "params_input": {}})
    assert resp.status_code == 200, resp.text
    stack.wait_for(lambda: state_of(stack, run_id) in ("success", "failed"), timeout=300,
                   what=f"{run_id} to finish (last state: {state_of(stack, run_id)})")
    return stack.api("GET", f"{ti_path(run_id)}/xcomEntries/return_value", user="reviewer").json()["value"]


def test_approval_moves_the_alias_and_a_rejection_leaves_it_on_sqlite_and_postgres(stack):
    airflow, trackers = stack
    trigger(airflow, "sqlite-approve")
    trigger(airflow, "pg-approve", "mlpg")
    approved = decide(airflow, "sqlite-approve", APPROVE)
    assert approved["status"] == "answered" and approved["result"]["promotion"] == "promoted"
    assert trackers["sqlite"].alias_version("churn", "production") == approved["result"]["version"] == "1"
    run = trackers["sqlite"].search_runs(["churn"])[0]
    assert run["run_id"] == approved["result"]["run_id"] and run["metrics"]["holdout_roc_auc"] > 0.6

    on_pg = decide(airflow, "pg-approve", APPROVE)
    assert on_pg["result"]["promotion"] == "promoted"
    assert trackers["postgres"].alias_version("churn", "production") == on_pg["result"]["version"] == "1"

    trigger(airflow, "sqlite-reject")
    rejected = decide(airflow, "sqlite-reject", REJECT)
    assert rejected["status"] == "rejected" and rejected["result"]["version"] == "2"
    assert trackers["sqlite"].alias_version("churn", "production") == "1"
