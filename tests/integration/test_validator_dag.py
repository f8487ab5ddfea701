"""dags/aimod_validation.py in real Airflow (dag.test), offline engine, on SQLite and on Postgres.

Three warehouses: the demo's (clean); a copy whose orders break the quality suite only (3 unknown
statuses, 2 negative amounts: the warning task still succeeds); and a copy whose orders break the
contract (a duplicated id, 2 null customers: the contract task fails with the counts in XCom).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import REPO
from tests.pg import warehouse_copy

pytestmark = pytest.mark.airflow

ORDERS_DDL = ("CREATE TABLE orders (id INTEGER, customer_id INTEGER, order_date DATE, status TEXT, channel TEXT, "
              "total_amount NUMERIC(12,2))")


def orders_copy(warehouse, target, extra_rows):
    """A database with only the orders table, without keys or NOT NULL, plus ``extra_rows``."""
    with sqlite3.connect(target) as con:
        con.execute(ORDERS_DDL)
        con.execute("ATTACH DATABASE ? AS src", (str(warehouse),))
        con.execute("INSERT INTO orders SELECT id, customer_id, order_date, status, channel, total_amount "
                    "FROM src.orders")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", extra_rows)
    con.close()
    return target


@pytest.fixture(scope="module")
def dirty(warehouse, tmp_path_factory):
    rows = [(30_000 + i, 7, "2024-03-01", "lost", "web", 10.0) for i in range(3)]
    rows += [(30_010 + i, 7, "2024-03-02", "delivered", "store", -5.0) for i in range(2)]
    return orders_copy(warehouse, tmp_path_factory.mktemp("dirty") / "dirty.db", rows)


@pytest.fixture(scope="module")
def broken(warehouse, tmp_path_factory):
    rows = [(1, 7, "2024-03-01", "delivered", "web", 10.0)]  # id 1 exists already
    rows += [(30_000 + i, None, "2024-03-02", "placed", "web", 20.0) for i in range(2)]
    return orders_copy(warehouse, tmp_path_factory.mktemp("broken") / "broken.db", rows)


@pytest.fixture(scope="module")
def validation_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    assert bag.get_dag("aimod_validation_proposals") is not None
    return bag.get_dag("aimod_validation")


def sqlite_conn(monkeypatch, path):
    monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)}))


def run(dag):
    """Task states and each task's outcome (return value, or the outcome a failed task kept)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == dag_run.run_id,
                                               XComModel.key.in_(["return_value", "aimod_outcome"])).all()
    return states, {r.task_id: r.value for r in rows}


def failures(out):
    return {(f["type"], f["column"]): f["unexpected_count"] for f in out["result"]["validation"]["failures"]}


def test_the_clean_warehouse_passes_both_suites(validation_dag, warehouse, monkeypatch):
    sqlite_conn(monkeypatch, warehouse)
    states, outs = run(validation_dag)
    assert states == {"orders_contract": "success", "orders_quality": "success"}
    assert outs["orders_contract"]["reason"] == "all 6 expectation(s) passed on 20000 row(s)"
    assert outs["orders_quality"]["result"]["validation"]["success"] is True


def test_quality_violations_warn_and_the_task_succeeds(validation_dag, dirty, monkeypatch):
    sqlite_conn(monkeypatch, dirty)
    states, outs = run(validation_dag)
    assert states == {"orders_contract": "success", "orders_quality": "success"}
    quality = outs["orders_quality"]
    assert quality["status"] == "answered" and quality["result"]["validation"]["success"] is False
    assert failures(quality) == {("expect_column_values_to_be_in_set", "status"): 3,
                                 ("expect_column_values_to_be_between", "total_amount"): 2}
    assert quality["reason"] == "2 of 3 expectation(s) failed on 20005 row(s)"


def test_a_broken_contract_fails_the_task_with_the_counts_in_xcom(validation_dag, broken, monkeypatch):
    sqlite_conn(monkeypatch, broken)
    states, outs = run(validation_dag)
    assert states == {"orders_contract": "failed", "orders_quality": "upstream_failed"}
    contract = outs["orders_contract"]
    assert failures(contract) == {("expect_column_values_to_be_unique", "id"): 2,
                                  ("expect_column_values_to_not_be_null", "customer_id"): 2}
    assert "2 row(s)" in contract["result"]["explanation"]
    from airflow_aimod.core.store import open_store
    from airflow_aimod.observability.sinks import store_url

    reason = open_store(store_url()).fetch("SELECT reason FROM aimod_outcomes WHERE task_id = 'orders_contract' "
                                           "ORDER BY ended_at DESC LIMIT 1")[0][0]
    assert reason.count("expectation(s) failed on") == 1, reason  # said once, not repeated


def test_a_contract_that_cannot_run_fails_the_gate(validation_dag, tmp_path, monkeypatch):
    """No orders table: the contract (on_failure='fail') cannot be checked, so the pipeline must not pass."""
    import sqlite3

    empty = tmp_path / "no_orders.db"
    with sqlite3.connect(empty) as con:
        con.execute("CREATE TABLE customers (id INTEGER)")
    sqlite_conn(monkeypatch, empty)
    states, outs = run(validation_dag)
    assert states == {"orders_contract": "failed", "orders_quality": "upstream_failed"}, (states, outs)
    assert outs["orders_contract"]["status"] in ("escalated", "refused")


@pytest.mark.postgres
def test_the_same_contract_breaks_on_postgres(validation_dag, broken, monkeypatch):
    with warehouse_copy(broken, "aimod_test_validator") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        states, outs = run(validation_dag)
    assert states == {"orders_contract": "failed", "orders_quality": "upstream_failed"}
    assert failures(outs["orders_contract"]) == {("expect_column_values_to_be_unique", "id"): 2,
                                                 ("expect_column_values_to_not_be_null", "customer_id"): 2}
    assert outs["orders_contract"]["result"]["validation"]["rows"] == 20003


@pytest.mark.postgres
def test_quality_warnings_on_postgres(validation_dag, dirty, monkeypatch):
    with warehouse_copy(dirty, "aimod_test_validator") as conn:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_WAREHOUSE", conn)
        states, outs = run(validation_dag)
    assert states == {"orders_contract": "success", "orders_quality": "success"}
    assert failures(outs["orders_quality"]) == {("expect_column_values_to_be_in_set", "status"): 3,
                                                ("expect_column_values_to_be_between", "total_amount"): 2}


def test_the_operator_validates_its_configuration_at_parse_time():
    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.validator import SchemaValidatorOperator

    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]
    base = {"task_id": "v", "conn_id": "w"}
    op = SchemaValidatorOperator(table="sales.orders", expectations=suite, **base)
    assert op.source_sql() == 'SELECT * FROM "sales"."orders"'
    assert op.template_fields[:2] == ("llm_conn_id", "trace_id") and "query" in op.template_fields
    for kwargs, message in [
        ({"table": "orders", "query": "SELECT 1", "expectations": suite}, "exactly one of table"),
        ({"table": "orders; DROP TABLE x", "expectations": suite}, "not a table name"),
        ({"table": "orders"}, "nothing to validate against"),
        ({"table": "orders", "expectations": suite, "on_failure": "explode"}, "on_failure must be one of"),
        ({"table": "orders", "expectations": suite, "max_rows": 0}, "max_rows must be between"),
        ({"table": "orders", "expectations": [{"type": "expect_column_values_to_be_uniq", "kwargs": {"column": "id"}}]},
         "Did you mean 'expect_column_values_to_be_unique'"),
    ]:
        with pytest.raises(ConfigurationError, match=message):
            SchemaValidatorOperator(**base, **kwargs)


def test_importing_the_operator_and_the_dag_loads_no_heavy_sdk():
    import subprocess
    import sys

    code = ("import sys, json, runpy\n"
            "import airflow_aimod.operators.validator\n"
            "runpy.run_path('dags/aimod_validation.py')\n"
            "heavy = {'great_expectations', 'pandas', 'numpy', 'langchain', 'langchain_core', 'langgraph', 'openai'}\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_hitl_request_lists_the_proposed_expectations():
    from airflow_aimod.core.agents.schema_validator import approval_request

    state = {"request": "Validate orders", "trace_id": "t", "work": {
        "tables": ["orders"], "suite_reasons": ["gx.update_suite (add or change expectations in a suite) needs a "
                                                "person's approval"],
        "proposals": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"},
                       "evidence": "id: 20000 distinct values in 20000 profiled rows", "confidence": 0.95}]}}
    request = approval_request(state, "orders", "schema_validator")
    assert request.subject == "schema_validator: approve — add 1 expectation(s) to the suite of orders?"
    assert (request.action, request.action_id, request.trace_id) == ("gx.update_suite", "suite-1", "t")
    assert "**Proposed expectations (1; approved, they join the suite):**" in request.body
    assert ("- `expect_column_values_to_be_unique(column='id')` — id: 20000 distinct values in 20000 profiled rows"
            in request.body)
