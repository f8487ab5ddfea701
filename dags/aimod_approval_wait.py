"""The wait for an approval as a task of its own: an agent asks, ``AgentApprovalSensor`` waits on the answer.

``sql_agent`` drafts a query on ``customers.email`` and asks on the **Required Actions** page
(task state *awaiting input*). ``wait_for_approval`` runs beside it, deferred on the triggerer
(state *deferred*; neither task holds a worker slot), and succeeds with the decision the moment
a person answers: ``{"decision": "approve"|"reject"|"edit", "reviewer", ...}`` in its XCom.
``approved`` runs only on an approval; a rejection fails the sensor, so ``approved`` never runs
(``soft_fail=True`` would skip it instead). Needs a triggerer (``airflow triggerer``).

Connections as in ``aimod_quickstart``. ``REVIEWERS`` are auth-manager user ids.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from airflow_aimod.operators.sql import SQLAgentOperator
from airflow_aimod.sensors.approval import AgentApprovalSensor

REVIEWERS = [{"id": "admin", "name": "Admin"}, {"id": "reviewer", "name": "Data steward"}]

with DAG(
    dag_id="aimod_approval_wait",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("List the email addresses of customers in Germany", type="string", minLength=1,
                             maxLength=4000)},
    doc_md=__doc__,
):
    SQLAgentOperator(
        task_id="sql_agent",
        question="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=["customers.email", "customers.phone", "customers.full_name"],
        max_rows=200,
        hitl=True,
        assigned_users=REVIEWERS,
        response_timeout=timedelta(hours=8),
    )
    wait = AgentApprovalSensor(
        task_id="wait_for_approval",
        approval_task_id="sql_agent",  # beside the agent, not downstream: it waits while the agent waits
        poke_interval=2,
        timeout=timedelta(hours=9),
    )
    wait >> EmptyOperator(task_id="approved")
