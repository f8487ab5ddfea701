"""dags/aimod_workflow.py under dag.test() (offline engine, the embedded AiMod store): report, alert and anomaly
steps reading their upstream steps, the plan's tokens reserved in the run's ledger, a plan too big for the run
going to a person, a step retried after a transient failure while the others keep their results, and a
profiler and an anomaly detector of one plan arbitrated by the declared rule."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import example_dag
from tests.integration.test_workflow_dag import outcomes, states
from tests.support.hitl import Answer, answering

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def workflow_dag(airflow_db):
    return example_dag("aimod_workflow")


@pytest.fixture
def own_warehouse(warehouse, tmp_path, monkeypatch):
    """A copy of the demo warehouse behind ``aimod_warehouse`` for this test only."""
    path = tmp_path / "warehouse.db"
    shutil.copy(warehouse, path)
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def ledger_rows(run_id: str) -> dict[str, tuple[int, int]]:
    """task key → (tokens, reserved) summed over tries and task types, for one run."""
    from airflow_aimod.observability.sinks import shared_store, store_url

    rows = shared_store(store_url()).fetch(
        "SELECT task_key, SUM(tokens), SUM(reserved) FROM aimod_token_ledger WHERE run_id = ? GROUP BY task_key",
        (run_id,))
    return {key: (int(tokens), int(reserved)) for key, tokens, reserved in rows}


def run_without_a_person(dag, request: str):
    """``dag.test`` with ``request``; a task that waits for a person fails the test at once, naming it."""
    with answering(dag.dag_id):
        return dag.test(run_conf={"request": request})


def try_number(run, task_id: str) -> int:
    return next(ti.try_number for ti in run.get_task_instances() if ti.task_id == task_id)


def test_a_report_step_reads_its_upstream_step_and_the_plan_draws_from_its_reservation(workflow_dag):
    run = run_without_a_person(workflow_dag, "Profile the orders table, then write a data quality report")
    assert states(run) == {"plan": "success", "step_1": "success", "step_2": "success", "step_3": "skipped",
                           "plan_outcome": "success", "arbitrate": "skipped", "investigate": "skipped",
                           "publish": "skipped"}
    out = outcomes(workflow_dag, run)
    assert [s["agent"] for s in out["plan"]["result"]["steps"]] == ["data_profiler", "report_generator"]
    report = out["step_2"]
    assert report["status"] == "answered" and report["result"]["kind"] == "data_quality"
    html = Path(report["result"]["uris"]["html"].removeprefix("file://")).read_text()
    assert "step_1" in html and "orders" in html  # the check the report is about: the profile step
    spent = {key: tokens for key, (tokens, _) in ledger_rows(run.run_id).items()}
    steps_spent = spent["step_1[-1]"] + spent["step_2[-1]"]
    assert steps_spent == out["step_1"]["token_usage"]["total_tokens"] + report["token_usage"]["total_tokens"] > 0
    outcome = out["plan_outcome"]
    assert outcome["reserved_tokens"] == 24_000 and outcome["released_tokens"] == 24_000 - steps_spent
    assert ledger_rows(run.run_id)["plan:plan"] == (0, 0)  # nothing left held once the plan ended
    assert [(s["id"], s["state"], s["trace_id"]) for s in outcome["steps"]] == [
        ("s1", "success", out["plan"]["trace_id"]), ("s2", "success", out["plan"]["trace_id"])]


def test_an_alert_step_raises_the_alerts_of_its_upstream_step(workflow_dag):
    run = run_without_a_person(workflow_dag, "Profile the customers table, then alert the on-call team")
    assert str(run.state) == "success"
    alerts = outcomes(workflow_dag, run)["step_2"]
    assert alerts["agent"] == "alert_manager" and alerts["status"] == "answered"
    assert alerts["result"]["received"] >= 1 and alerts["result"]["failed"] == []


def test_a_plan_bigger_than_the_run_has_left_waits_for_a_person_who_lowers_the_step_budgets(workflow_dag,
                                                                                               monkeypatch):
    monkeypatch.setenv("AIRFLOW__AIMOD__DAG_RUN_TOKEN_BUDGET", "20000")
    steps = [{"id": "s1", "agent": "data_profiler", "request": "Profile the orders table", "depends_on": [],
              "token_budget": 6000},
             {"id": "s2", "agent": "report_generator", "request": "write a data quality report",
              "depends_on": ["s1"], "token_budget": 6000}]
    with answering(workflow_dag.dag_id, Answer("plan", "Approve", {"plan": json.dumps(steps)})) as reviewer:
        run = workflow_dag.test(run_conf={"request": "Profile the orders table, then write a data quality report"})
    assert "the plan needs 24000 tokens but run" in reviewer.given[0].seen
    assert "of its 20000 left (dag_run_token_budget)" in reviewer.given[0].seen
    assert str(run.state) == "success"
    out = outcomes(workflow_dag, run)
    assert out["plan"]["result"]["reviewed_by"] == "steward"
    assert [s["token_budget"] for s in out["plan"]["result"]["steps"]] == [6000, 6000]
    assert out["plan_outcome"]["reserved_tokens"] == 12_000
    assert out["step_1"]["status"] == out["step_2"]["status"] == "answered"


DEFAULT = "How many orders are there per status? Then profile the customers table."


class WarehouseSwap(logging.Handler):
    """While step_2's first try runs the warehouse file is away (an ETL job replacing it); it is back for the
    retry. Driven by dag.test's own "end task" log lines, so the timing is exact."""

    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.INFO)
        self.path, self.away, self.moves = path, path.with_suffix(".away"), []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("[DAG TEST] end task"):
            return
        task_id = record.args[0]
        if task_id == "step_1" and self.path.exists():
            self.path.rename(self.away)
            self.moves.append("away")
        elif task_id == "step_2" and self.away.exists():
            self.away.rename(self.path)
            self.moves.append("back")


def test_a_step_that_fails_on_its_first_try_is_retried_while_the_others_keep_their_results(workflow_dag,
                                                                                          own_warehouse):
    logger, swap = logging.getLogger("airflow.sdk.definitions.dag"), WarehouseSwap(own_warehouse)
    level = logger.level
    logger.addHandler(swap)
    logger.setLevel(logging.INFO)
    try:
        run = run_without_a_person(workflow_dag, DEFAULT)  # explicit: a dag.test run keeps the last run's params
    finally:
        logger.removeHandler(swap)
        logger.setLevel(level)
    assert swap.moves == ["away", "back"]
    assert str(run.state) == "success" and states(run)["plan_outcome"] == "success"
    assert (try_number(run, "step_1"), try_number(run, "step_2")) == (1, 2)
    out = outcomes(workflow_dag, run)
    expected = dict(sqlite3.connect(own_warehouse).execute("SELECT status, COUNT(*) FROM orders GROUP BY 1").fetchall())
    assert {r[0]: r[1] for r in out["step_1"]["result"]["rows"]} == expected  # step 1 kept its one try's result
    assert out["step_2"]["status"] == "answered" and out["step_2"]["result"]["table"] == "customers"
    assert out["step_2"]["trace_id"] == out["step_1"]["trace_id"] == out["plan"]["trace_id"]
    keys = {key for key in ledger_rows(run.run_id)}
    assert {"plan:plan", "step_1[-1]", "step_2[-1]"} <= keys


def with_null_channels(path: Path) -> None:
    """60% of orders.channel set to NULL: the profiler's null-rate check (at most 50%) fails on orders."""
    with sqlite3.connect(path) as db:
        db.executescript(
            "ALTER TABLE orders RENAME TO orders_old; "
            "CREATE TABLE orders AS SELECT id, customer_id, order_date, status, "
            "CASE WHEN id % 5 < 3 THEN NULL ELSE channel END AS channel, total_amount FROM orders_old; "
            "DROP TABLE orders_old;")


ARBITRATED = "Profile the orders table and detect anomalies in daily orders"


def test_profile_and_anomaly_steps_that_agree_continue_by_the_rule(workflow_dag, own_warehouse):
    with_null_channels(own_warehouse)
    run = run_without_a_person(workflow_dag, ARBITRATED)
    out = outcomes(workflow_dag, run)
    assert [s["agent"] for s in out["plan"]["result"]["steps"]] == ["data_profiler", "anomaly_detector"]
    assert out["step_1"]["result"]["assessment"]["verdict"] == "anomalous"  # the NULLs
    assert out["step_2"]["result"]["assessment"]["verdict"] == "anomalous"  # the seasonal peaks
    judged = out["arbitrate"]
    assert (judged["outcome"], judged["verdict"], judged["decided_by"]) == ("agree", "anomalous", "rule")
    assert states(run)["investigate"] == "success" and states(run)["publish"] == "skipped"


def test_profile_and_anomaly_steps_that_conflict_wait_for_a_person(workflow_dag, own_warehouse):
    with answering(workflow_dag.dag_id, Answer("arbitrate", "normal")) as reviewer:
        run = workflow_dag.test(run_conf={"request": ARBITRATED})
    assert "data_profiler" in reviewer.given[0].seen and "anomaly_detector" in reviewer.given[0].seen
    out = outcomes(workflow_dag, run)
    judged = out["arbitrate"]
    assert (judged["outcome"], judged["verdict"], judged["decided_by"]) == ("arbitrate", "normal", "steward")
    assert judged["left"]["verdict"] == "normal" and judged["right"]["verdict"] == "anomalous"
    assert states(run)["publish"] == "success" and states(run)["investigate"] == "skipped"


def test_parallel_slots_start_together_and_a_step_waits_only_for_the_steps_it_depends_on(airflow_db):
    dag = example_dag("aimod_workflow_parallel")
    assert dag.get_task("step_2").upstream_task_ids == dag.get_task("step_3").upstream_task_ids == {"plan"}
    run = run_without_a_person(dag, "Profile the customers table and count orders by status, then summarize the "
                                    "results")
    assert str(run.state) == "success", states(run)
    out = outcomes(dag, run)
    assert [(s["agent"], s["depends_on"]) for s in out["plan"]["result"]["steps"]] == [
        ("data_profiler", []), ("sql_agent", []), ("summarizer", ["s2"])]
    assert out["step_1"]["status"] == out["step_2"]["status"] == out["step_3"]["status"] == "answered"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["step_3"].end_date >= tis["step_2"].end_date  # the summary waited for the count
    assert out["step_3"]["result"]["faithful"] is True
