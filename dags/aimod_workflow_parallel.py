"""The workflow coordinator with parallel step slots: independent steps run side by side.

As ``aimod_workflow``, but ``plan_step_tasks(..., parallel=True)``: every slot starts after ``plan``, and a
step that depends on others waits for those steps only (rescheduled every few seconds, holding no worker
slot), so "profile the customers table and count orders by status, then summarize the results" profiles and
counts at once and summarizes after the count. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.plan_step import plan_step_tasks
from airflow_aimod.operators.workflow_coordinator import WorkflowCoordinatorOperator

with DAG(
    dag_id="aimod_workflow_parallel",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("Profile the customers table and count orders by status, then summarize the results",
                             type="string", minLength=1, maxLength=2000)},
    doc_md=__doc__,
) as dag:
    plan = WorkflowCoordinatorOperator(task_id="plan", request="{{ params.request }}", conn_id="aimod_warehouse",
                                       max_steps=3, hitl=True, response_timeout=timedelta(hours=4))
    plan_step_tasks(plan, slots=3, conn_id="aimod_warehouse", parallel=True, wait_s=2, retries=1,
                    retry_delay=timedelta(seconds=5))
