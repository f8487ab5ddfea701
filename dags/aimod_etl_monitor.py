"""ETL monitoring: diagnose the failed tasks of the watched DAGs from their logs, retry the transient ones.

The monitor reads DAG runs, task instances and task logs through Airflow's REST API (connection
``aimod_airflow_api``: type http, host = the api-server's base URL, login/password of a user who
may read runs and clear task instances). Each failure is classified from its log by declared
rules: transient (connection refused, timeouts, 429/503, deadlocks, a locked database) or
permanent (bugs in the task's code, missing tables, permission denied, a full disk). Transient
failures within the retry budget (3 automatic retries per task instance, counted from Airflow's
try number) are proposed for a clear, and one request on the **Required Actions** page lists them
all: Approve clears them (each runs again), Reject clears nothing. Permanent and unclassified
failures are reported for a person. The monitor never changes schedules or pauses DAGs.

``dags/aimod_etl_examples.py`` has two pipelines to watch: ``aimod_etl_flaky`` fails its first
try with ``ConnectionError: connection refused``, ``aimod_etl_broken`` fails every try with a
``KeyError``. ``schedule=None`` here so the example runs only when triggered; in production give it
a schedule (e.g. ``"*/30 * * * *"`` with ``lookback=timedelta(hours=1)``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_aimod.operators.etl_monitor import ETLMonitorOperator

WATCHED = ["aimod_etl_flaky", "aimod_etl_broken"]

with DAG(
    dag_id="aimod_etl_monitor",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["aimod", "example", "etl", "hitl"],
    doc_md=__doc__,
) as dag:
    ETLMonitorOperator(
        task_id="monitor",
        api_conn_id="aimod_airflow_api",
        dag_ids=WATCHED,
        lookback=timedelta(hours=6),
        allow_clear=True,
        hitl=True,
        response_timeout=timedelta(hours=4),  # then nothing is cleared (timeout_outcome="reject")
    )
