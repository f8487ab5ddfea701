"""What a retried agent task continues, and the retry a task that asks a person gets by default."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from airflow_aimod.operators._execution import earlier_threads, thread_id
from airflow_aimod.operators._outcomes import record_failed_task

pytestmark = pytest.mark.airflow


def context(try_number: int, clear_number: int | None = 0) -> dict:
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=try_number)
    return {"ti": ti, "dag_run": SimpleNamespace(clear_number=clear_number)}


def test_a_retry_looks_at_its_earlier_tries_and_a_clear_starts_afresh():
    assert thread_id(context(3)) == "d/r/t/-1/c0/3"
    assert earlier_threads(context(3)) == ["d/r/t/-1/c0/2", "d/r/t/-1/c0/1"]
    assert earlier_threads(context(1)) == []
    # a person cleared the task: try 4 is the first of a new generation; tries 1-3 belong to the old one
    assert thread_id(context(4, clear_number=1)) == "d/r/t/-1/c1/4"
    assert all(t.startswith("d/r/t/-1/c1/") for t in earlier_threads(context(4, clear_number=1)))
    assert thread_id(context(1, clear_number=None)) == "d/r/t/-1/c0/1"  # Airflow without clear_number


def test_a_task_that_asks_a_person_gets_one_retry_unless_the_dag_says_otherwise():
    from airflow.sdk import DAG

    from airflow_aimod.operators.sql import SQLAgentOperator

    def alert(context):  # pragma: no cover - never called here
        pass

    with DAG("retry_defaults", schedule=None):
        asking = SQLAgentOperator(task_id="asking", question="q", conn_id="w", hitl=True)
        silent = SQLAgentOperator(task_id="silent", question="q", conn_id="w")
        chosen = SQLAgentOperator(task_id="chosen", question="q", conn_id="w", hitl=True, retries=0)
    assert (asking.retries, asking.retry_delay) == (1, timedelta(seconds=15))
    assert silent.retries == 0 and chosen.retries == 0
    with DAG("retry_from_default_args", schedule=None,
             default_args={"retries": 3, "retry_delay": timedelta(minutes=2), "on_failure_callback": alert}):
        from_dag = SQLAgentOperator(task_id="from_dag", question="q", conn_id="w", hitl=True)
    assert (from_dag.retries, from_dag.retry_delay) == (3, timedelta(minutes=2))
    # the DAG's own failure callback (a Slack alert, say) still runs, after the AiMod store's net
    assert from_dag.on_failure_callback == [record_failed_task, alert]
