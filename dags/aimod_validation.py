"""Schema validation with Great Expectations: a hard contract that fails the run, a quality suite that warns.

``aimod_validation``: ``orders_contract`` checks what downstream code relies on (the columns,
non-null unique ids, customers, ISO dates, amounts) and fails the task when any expectation
fails; ``orders_quality`` checks the allowed statuses and channels and the amount range, and
only warns. Both read the orders table read-only (the SQL guard checks the query) and explain
the result from the numbers; the outcome, with unexpected counts and example values, is in XCom.

``aimod_validation_proposals``: ``profile_orders`` profiles the table; ``orders_with_proposals``
proposes expectations from that profile (not-null, unique, types, ranges, allowed values, each
with its evidence) and asks on **Required Actions** whether they may join the suite; approved,
they are validated with the suite; rejected, only the suite is. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_aimod.operators.profiler import DataProfilerOperator
from airflow_aimod.operators.validator import SchemaValidatorOperator

ORDER_COLUMNS = ["id", "customer_id", "order_date", "status", "channel", "total_amount"]
CONTRACT = [
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ORDER_COLUMNS, "exact_match": True}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "order_date", "regex": r"^\d{4}-\d{2}-\d{2}"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "total_amount"}},
]
QUALITY = [
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "status", "value_set": ["placed", "shipped", "delivered", "cancelled", "returned"]}},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "channel", "value_set": ["web", "mobile", "store"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "total_amount", "min_value": 0,
                                                              "max_value": 10_000}},
]

with DAG(
    dag_id="aimod_validation",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    doc_md=__doc__,
) as dag:
    contract = SchemaValidatorOperator(task_id="orders_contract", conn_id="aimod_warehouse", table="orders",
                                       expectations=CONTRACT, on_failure="fail")
    quality = SchemaValidatorOperator(task_id="orders_quality", conn_id="aimod_warehouse", table="orders",
                                      expectations=QUALITY, on_failure="warn")
    contract >> quality

with DAG(
    dag_id="aimod_validation_proposals",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    doc_md=__doc__,
) as proposals_dag:
    profile = DataProfilerOperator(task_id="profile_orders", conn_id="aimod_warehouse", table="orders")
    validate = SchemaValidatorOperator(task_id="orders_with_proposals", conn_id="aimod_warehouse", table="orders",
                                       expectations=CONTRACT, profile_task_id="profile_orders", on_failure="warn",
                                       hitl=True, response_timeout=timedelta(hours=8), timeout_outcome="reject")
    profile >> validate
