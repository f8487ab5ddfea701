"""The ETL monitor end to end: real Airflow (api-server, scheduler, dag-processor) on Postgres.

``aimod_etl_flaky`` fails its first try with ``ConnectionError: connection refused`` and
``aimod_etl_broken`` fails with a ``KeyError``. ``aimod_etl_monitor`` reads both failures through
the REST API as user ``monitor`` (an ``AIRFLOW_CONN_`` connection to this stack's api-server),
diagnoses them from the real task logs, and asks on Required Actions to clear the transient one.
A named reviewer approves through ``PATCH .../hitlDetails`` once the task is parked and its worker
gone; the flaky task runs again and succeeds; the permanent failure is left alone.
"""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from tests.support.stack import AirflowStack
from tests.conftest import REPO
from tests.pg import throwaway_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(420)]

MONITOR, FLAKY, BROKEN = "aimod_etl_monitor", "aimod_etl_flaky", "aimod_etl_broken"
USERS = {"monitor": "monitor-pw-1", "steward": "steward-pw-1"}
DONE = ("success", "failed", "skipped", "upstream_failed")


# -- the operator, without processes ------------------------------------------------------------

def test_the_operator_validates_at_parse_time_and_templates_its_fields():
    from datetime import timedelta

    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.base import AgentOperator
    from airflow_aimod.operators.etl_monitor import ETLMonitorOperator

    op = ETLMonitorOperator(task_id="m", api_conn_id="api", dag_ids=["a"], allow_clear=True, hitl=True)
    assert op.template_fields[: len(AgentOperator.template_fields)] == AgentOperator.template_fields
    assert {"api_conn_id", "dag_ids"} <= set(op.template_fields) and op.envelope.max_auto_retries == 3
    for bad, message in [({"dag_ids": "a"}, "non-empty list"), ({"dag_ids": []}, "non-empty list"),
                         ({"lookback": timedelta(0)}, "lookback must be"), ({"max_failures": 0}, "max_failures")]:
        with pytest.raises(ConfigurationError, match=message):
            ETLMonitorOperator(task_id="m", api_conn_id="api", **{"dag_ids": ["a"], **bad})
    with pytest.raises(ConfigurationError, match="unknown action kind"):
        ETLMonitorOperator(task_id="m", api_conn_id="api", dag_ids=["a"], envelope={"allow": ["airflow.pause"]})


def test_connections_become_api_credentials(monkeypatch):
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.etl_monitor import api_credentials

    monkeypatch.setenv("AIRFLOW_CONN_ETL_API_A", json.dumps(
        {"conn_type": "http", "host": "airflow-api", "schema": "https", "port": 8443, "login": "m", "password": "p"}))
    monkeypatch.setenv("AIRFLOW_CONN_ETL_API_B", json.dumps(
        {"conn_type": "http", "host": "http://127.0.0.1:8080/", "extra": {"token": "jwt-1"}}))
    monkeypatch.setenv("AIRFLOW_CONN_ETL_API_C", json.dumps({"conn_type": "http", "host": "http://x:8080"}))
    a, b = api_credentials("etl_api_a"), api_credentials("etl_api_b")
    assert (a.base_url, a.username, a.password, a.token) == ("https://airflow-api:8443", "m", "p", None)
    assert (b.base_url, b.token) == ("http://127.0.0.1:8080", "jwt-1")
    with pytest.raises(ConfigurationError, match="needs a token, or a login and password"):
        api_credentials("etl_api_c")
    with pytest.raises(ConfigurationError, match="AIRFLOW_CONN_ETL_API_NONE"):
        api_credentials("etl_api_none")


# -- the stack ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-etl")
    dags = home / "dags"  # only the three DAGs this test runs: the dag-processor parses two files, not all
    dags.mkdir()
    for name in ("aimod_etl_monitor.py", "aimod_etl_examples.py"):
        shutil.copy(REPO / "dags" / name, dags / name)
    with throwaway_database("aimod_e2e_etl") as metadata:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=dags, users=USERS)
        airflow.env["AIRFLOW_CONN_AIMOD_AIRFLOW_API"] = json.dumps(
            {"conn_type": "http", "host": airflow.base_url, "login": "monitor", "password": USERS["monitor"]})
        try:
            airflow.start(timeout=240)  # the machine is shared: a loaded api-server can take its time
            for dag_id in (FLAKY, BROKEN, MONITOR):
                airflow.wait_for(lambda d=dag_id: read(airflow, f"/dags/{d}"), timeout=180,
                                 what=f"the dag-processor to parse {dag_id}")
            for dag_id in (FLAKY, BROKEN):
                trigger(airflow, dag_id, "nightly")
            yield airflow
        finally:
            airflow.stop()


def trigger(stack: AirflowStack, dag_id: str, run_id: str) -> None:
    resp = stack.api("POST", f"/dags/{dag_id}/dagRuns", user="steward", json={"dag_run_id": run_id, "logical_date": None})
    assert resp.status_code == 200, resp.text


def read(stack: AirflowStack, path: str) -> dict:
    """``GET path`` as the steward; ``{}`` when it is missing or the loaded api-server is slow (a probe retries)."""
    try:
        resp = stack.api("GET", path, user="steward")
    except httpx.TimeoutException:
        return {}
    return resp.json() if resp.status_code == 200 else {}


def run_state(stack: AirflowStack, dag_id: str, run_id: str) -> str | None:
    return read(stack, f"/dags/{dag_id}/dagRuns/{run_id}").get("state")


def ti(stack: AirflowStack, dag_id: str, run_id: str, task_id: str) -> dict:
    return read(stack, f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")


def parked(stack: AirflowStack, run_id: str) -> bool:
    """Awaiting input AND the scheduler has processed its worker's exit (see ARCHITECTURE.md)."""
    return (ti(stack, MONITOR, run_id, "monitor").get("state") == "awaiting_input"
            and stack.worker_exited(MONITOR, run_id, "monitor"))


def test_the_monitor_clears_the_transient_failure_after_approval_and_leaves_the_permanent_one(stack):
    for dag_id in (FLAKY, BROKEN):
        stack.wait_for(lambda d=dag_id: run_state(stack, d, "nightly") == "failed", timeout=180,
                       what=f"{dag_id} to fail")
    trigger(stack, MONITOR, "watch")
    stack.wait_for(lambda: parked(stack, "watch"), timeout=240, what="the monitor to ask for approval")

    path = f"/dags/{MONITOR}/dagRuns/watch/taskInstances/monitor/-1/hitlDetails"
    detail = stack.wait_for(lambda: read(stack, path), timeout=60, what="the HITL request")
    assert detail["subject"] == "etl_monitor: approve clearing 1 failed task(s) for a retry?"
    assert f"`{FLAKY}` run `nightly` task `load_orders`: try 1 failed, transient" in detail["body"]
    clears = [line for line in detail["body"].splitlines() if line.startswith("- `")]
    assert len(clears) == 1 and "ConnectionError: connection refused" in clears[0]
    assert f"{BROKEN}/transform_orders" in detail["body"]  # the rationale explains the permanent one too
    assert ti(stack, FLAKY, "nightly", "load_orders")["try_number"] == 1  # nothing cleared before the answer

    resp = stack.api("PATCH", path, user="steward", json={"chosen_options": ["Approve"], "params_input": {}})
    assert resp.status_code == 200, resp.text
    stack.wait_for(lambda: ti(stack, MONITOR, "watch", "monitor").get("state") in DONE, timeout=180,
                   what="the monitor to finish")
    stack.wait_for(lambda: run_state(stack, FLAKY, "nightly") in DONE, timeout=180, what="the cleared run to finish")

    flaky = ti(stack, FLAKY, "nightly", "load_orders")
    assert (flaky["state"], flaky["try_number"]) == ("success", 2) and run_state(stack, FLAKY, "nightly") == "success"
    broken = ti(stack, BROKEN, "nightly", "transform_orders")
    assert (broken["state"], broken["try_number"]) == ("failed", 1)

    xcom = f"/dags/{MONITOR}/dagRuns/watch/taskInstances/monitor/xcomEntries/return_value"
    out = stack.wait_for(lambda: read(stack, xcom), timeout=60, what="the monitor's outcome")["value"]
    assert out["status"] == "escalated" and out["approvals"][0]["decision"] == "approve"
    failures = {f["dag_id"]: f for f in out["result"]["failures"]}
    assert (failures[FLAKY]["classification"], failures[FLAKY]["rule"]) == ("transient", "connection")
    assert failures[FLAKY]["action"] == "cleared for try 2"
    assert (failures[BROKEN]["classification"], failures[BROKEN]["exception"]) == ("permanent", "KeyError")
    assert failures[BROKEN]["last_frame"]["name"] == "transform_orders"
    assert failures[BROKEN]["action"].startswith("escalated: permanent failure")
    assert ti(stack, MONITOR, "watch", "monitor")["state"] == "success"
