"""Agent disagreement end to end: real Airflow (api-server, scheduler, dag-processor) on Postgres.

``dags/aimod_data_ops.py`` over January–March 2024 of the demo warehouse: the weekday-baseline
detector flags days the whole-series detector finds normal, so ``arbitrate`` becomes a native
HITL request showing both assessments; a named reviewer picks ``normal`` through
``PATCH .../hitlDetails`` and the DAG continues down ``publish``.
"""

from __future__ import annotations

import pytest

from tests.support.stack import AirflowStack
from tests.conftest import REPO
from tests.pg import throwaway_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID, RUN_ID = "aimod_data_ops", "disagree"
USERS = {"steward": "steward-pw-1"}


@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-arbitration")
    with throwaway_database("aimod_e2e_arb") as metadata, throwaway_database("aimod_ckpt_arb") as checkpoints:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=REPO / "dags", users=USERS,
                               env={"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints})
        with airflow:
            airflow.wait_for(lambda: airflow.api("GET", f"/dags/{DAG_ID}", user="steward").status_code == 200,
                             timeout=120, what=f"the dag-processor to parse {DAG_ID}")
            resp = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", user="steward",
                               json={"dag_run_id": RUN_ID, "logical_date": None,
                                     "conf": {"start": "2024-01-01", "end": "2024-04-01"}})
            assert resp.status_code == 200, resp.text
            yield airflow


def ti(stack: AirflowStack, task_id: str) -> dict:
    resp = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/{task_id}", user="steward")
    return resp.json() if resp.status_code == 200 else {}


def test_a_disagreement_waits_for_a_person_and_the_dag_follows_the_choice(stack):
    def parked():  # awaiting input AND the scheduler has processed its worker's exit (see ARCHITECTURE.md)
        return ti(stack, "arbitrate").get("state") == "awaiting_input" and stack.worker_exited(DAG_ID, RUN_ID,
                                                                                                 "arbitrate")

    stack.wait_for(parked, timeout=300, what="arbitrate to wait for a person")
    path = f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/arbitrate/-1/hitlDetails"
    detail = stack.api("GET", path, user="steward").json()
    assert detail["options"] == ["normal", "anomalous"] and detail["defaults"] == ["anomalous"]
    assert "anomaly_detector says anomalous but anomaly_detector says normal" in detail["subject"]
    assert "weekday_baseline" in detail["body"] and "whole_series" in detail["body"]

    resp = stack.api("PATCH", path, user="steward", json={"chosen_options": ["normal"], "params_input": {}})
    assert resp.status_code == 200, resp.text
    done = ("success", "failed", "skipped", "upstream_failed")
    stack.wait_for(lambda: ti(stack, "publish").get("state") in done, timeout=180, what="publish to finish")
    assert ti(stack, "publish")["state"] == "success" and ti(stack, "investigate")["state"] == "skipped"
    xcom = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/arbitrate/xcomEntries/return_value",
                     user="steward").json()["value"]
    assert (xcom["verdict"], xcom["decided_by"], xcom["outcome"]) == ("normal", "steward", "arbitrate")
