"""A multi-step request becomes a bounded plan, and each step runs as its own task.

``plan`` (``WorkflowCoordinatorOperator``) splits the request into steps, routes each to an agent and
checks the plan against its bounds (at most 3 steps here, no agent twice on one path, each agent's
envelope, the token budget split across the steps). A confident plan runs at once; an unsure step or a
step that needs approval shows the whole plan on **Required Actions** first (approve, reject, or edit
the steps). ``step_1`` … ``step_3`` (``PlanStepOperator``) run the steps in dependency order under the
plan's trace id; a slot the plan does not fill is skipped, a failed step retries on its own. The default
request asks the demo warehouse a question, then profiles a table. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.plan_step import plan_step_tasks
from airflow_aimod.operators.workflow_coordinator import WorkflowCoordinatorOperator

with DAG(
    dag_id="aimod_workflow",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("How many orders are there per status? Then profile the customers table.",
                             type="string", minLength=1, maxLength=2000)},
    doc_md=__doc__,
) as dag:
    plan = WorkflowCoordinatorOperator(
        task_id="plan",
        request="{{ params.request }}",
        conn_id="aimod_warehouse",
        max_steps=3,
        plan_token_budget=24_000,
        hitl=True,
        response_timeout=timedelta(hours=4),
    )
    steps = plan_step_tasks(plan, slots=3, conn_id="aimod_warehouse", retries=1, retry_delay=timedelta(seconds=5))
