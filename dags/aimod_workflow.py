"""A multi-step request becomes a bounded plan, and each step runs as its own task.

``plan`` (``WorkflowCoordinatorOperator``) splits the request into steps, routes each to an agent and
checks the plan against its bounds (at most 3 steps here, no agent twice on one path, each agent's
envelope, the token budget split across the steps). A confident plan runs at once; an unsure step or a
step that needs approval shows the whole plan on **Required Actions** first (approve, reject, or edit
the steps). ``step_1`` … ``step_3`` (``PlanStepOperator``) run the steps in dependency order under the
plan's trace id; a slot the plan does not fill is skipped, a failed step retries on its own.
``plan_outcome`` records each step's outcome and releases the tokens the plan reserved in the run's
ledger but its steps did not use. When the plan profiles a table and checks a series for anomalies,
``arbitrate`` compares the two verdicts under ``profile_vs_detector``: agreement continues at once
(``investigate`` or ``publish``), a conflict asks a person on Required Actions. The default request
asks the demo warehouse a question, then profiles a table. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.core.disagreement import DisagreementRule
from airflow_aimod.operators.plan_arbitration import plan_arbitration
from airflow_aimod.operators.plan_step import plan_step_tasks
from airflow_aimod.operators.workflow_coordinator import WorkflowCoordinatorOperator

RULE = DisagreementRule.of("profile_vs_detector", "data_profiler", "anomaly_detector")

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
    arbitrate = plan_arbitration(plan, steps, rule=RULE, response_timeout=timedelta(hours=4),
                                 verdict_tasks={"anomalous": "investigate", "normal": "publish"})

    @task(task_id="investigate")
    def investigate(judgement: dict) -> dict:
        """The profile and the series disagree or both look wrong: hand both findings to a person (here: return)."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"]}

    @task(task_id="publish")
    def publish(judgement: dict) -> dict:
        """Both checks say the data looks normal."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"]}

    arbitrate >> [investigate(arbitrate.output), publish(arbitrate.output)]
