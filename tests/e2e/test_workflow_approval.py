"""A plan with a high-impact step, approved on Required Actions in a running Airflow (api-server, scheduler,
dag-processor on Postgres): ``dags/aimod_workflow.py``.

"Profile the customers table, then validate it against its profile": the validator step adds expectations
proposed from the profile to its suite (``gx.update_suite``, which needs approval), so the whole plan waits in
``awaiting_input`` before any step runs. Run ``approve``: a named reviewer approves through ``PATCH
.../hitlDetails``; both steps then run as task instances and succeed, the validator under the plan's approval.
Run ``loop``: the reviewer edits the plan so the profiler runs again after the validator (data_profiler →
schema_validator → data_profiler); the edited plan is checked again and refused, and no step runs.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.pg import throwaway_database
from tests.support.stack import AirflowStack

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(600)]

DAG_ID = "aimod_workflow"
USERS = {"steward": "steward-pw-1"}
REQUEST = "Profile the customers table, then validate the customers table against its profile"
DONE = ("success", "failed", "skipped", "upstream_failed")


@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-workflow")
    with throwaway_database("aimod_e2e_plan") as metadata, throwaway_database("aimod_ckpt_plan") as checkpoints:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=REPO / "dags", users=USERS,
                               env={"AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints})
        with airflow:
            airflow.wait_for(lambda: airflow.api("GET", f"/dags/{DAG_ID}", user="steward").status_code == 200,
                             timeout=180, what=f"the dag-processor to parse {DAG_ID}")
            for run_id in ("approve", "loop"):
                resp = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", user="steward",
                                   json={"dag_run_id": run_id, "logical_date": None, "conf": {"request": REQUEST}})
                assert resp.status_code == 200, resp.text
            yield airflow


def ti(stack: AirflowStack, run_id: str, task_id: str) -> dict:
    resp = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}", user="steward")
    return resp.json() if resp.status_code == 200 else {}


def parked_plan(stack: AirflowStack, run_id: str) -> dict:
    """Wait until ``plan`` awaits input and the scheduler processed its worker's exit (ARCHITECTURE.md: HITL race);
    fail at once when it ends any other way."""
    def probe():
        state = ti(stack, run_id, "plan").get("state")
        if state in DONE:
            raise AssertionError(f"{run_id}/plan ended {state} instead of waiting for a person")
        return state == "awaiting_input" and stack.worker_exited(DAG_ID, run_id, "plan")

    stack.wait_for(probe, timeout=300, what=f"{run_id}/plan to wait for a person with its worker gone")
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/plan/-1/hitlDetails"
    return stack.api("GET", path, user="steward").json()


def answer(stack: AirflowStack, run_id: str, params: dict | None = None) -> None:
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/plan/-1/hitlDetails"
    resp = stack.api("PATCH", path, user="steward", json={"chosen_options": ["Approve"], "params_input": params or {}})
    assert resp.status_code == 200, resp.text


def finished(stack: AirflowStack, run_id: str, task_id: str) -> str:
    return stack.wait_for(lambda: (s := ti(stack, run_id, task_id).get("state")) in DONE and s, timeout=300,
                          what=f"{run_id}/{task_id} to finish")


def xcom(stack: AirflowStack, run_id: str, task_id: str) -> dict:
    resp = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                     user="steward")
    assert resp.status_code == 200, resp.text
    return resp.json()["value"]


def test_a_plan_with_a_high_impact_step_waits_whole_then_runs_its_steps_as_task_instances(stack):
    detail = parked_plan(stack, "approve")
    assert ti(stack, "approve", "step_1")["state"] in (None, "none", "scheduled", "")  # nothing ran before approval
    body = detail["body"]
    for part in ("| s1 | data_profiler | Profile the customers table |", "| s2 | schema_validator |",
                 "gx.update_suite by schema_validator needs a person's approval"):
        assert part in body
    assert [s["agent"] for s in json.loads(detail["params"]["plan"]["value"])] == ["data_profiler", "schema_validator"]
    answer(stack, "approve")
    assert finished(stack, "approve", "plan_outcome") == "success"
    states = {t: ti(stack, "approve", t)["state"] for t in ("plan", "step_1", "step_2", "step_3")}
    assert states == {"plan": "success", "step_1": "success", "step_2": "success", "step_3": "skipped"}
    plan = xcom(stack, "approve", "plan")
    assert plan["result"]["reviewed_by"] == "steward" and plan["result"]["decision"] == "run"
    validation = xcom(stack, "approve", "step_2")
    assert validation["status"] == "answered" and validation["result"]["validation"]["success"] is True
    assert validation["trace_id"] == plan["trace_id"]
    outcome = xcom(stack, "approve", "plan_outcome")
    assert [(s["id"], s["state"], s["status"]) for s in outcome["steps"]] == [
        ("s1", "success", "answered"), ("s2", "success", "answered")]
    assert outcome["reserved_tokens"] == 24_000 and 0 < outcome["released_tokens"] <= 24_000


def test_an_edited_plan_that_loops_is_refused_and_runs_nothing(stack):
    detail = parked_plan(stack, "loop")
    steps = json.loads(detail["params"]["plan"]["value"])
    steps.append({"id": "s3", "agent": "data_profiler", "request": "profile the customers table again",
                  "depends_on": ["s2"]})
    answer(stack, "loop", {"plan": json.dumps(steps)})
    assert finished(stack, "loop", "plan_outcome") == "success"
    plan = xcom(stack, "loop", "plan")
    assert plan["status"] == "refused" and plan["result"]["decision"] == "refused"
    assert "the approved plan still fails" in plan["reason"] and "data_profiler" in plan["reason"]
    states = {t: ti(stack, "loop", t)["state"] for t in ("step_1", "step_2", "step_3")}
    assert states == {"step_1": "skipped", "step_2": "skipped", "step_3": "skipped"}
