"""Approvals in the Airflow UI: people pick the agent when the router is unsure, and approve PII queries.

Trigger with ``{"request": "List the email addresses of customers in Germany"}``: the SQL agent
drafts a query on ``customers.email`` and waits on the **Required Actions** page (task state
*awaiting input*, no worker slot held). Approve runs it; Reject ends with status ``rejected`` and
nothing runs; editing the ``sql`` field and approving runs your query after the SQL guard checked it.

Trigger with ``{"request": "can you help me with the thing from yesterday"}``: the router is not
confident, so a person picks the agent (or rejects) and the DAG continues down that branch.

``aimod_approval_expires`` shows what happens when nobody answers: after 20 seconds the scheduler
applies the default outcome (``timeout_outcome="reject"``) and the task ends ``rejected``, having run nothing.

Connections as in ``aimod_quickstart``. ``REVIEWERS`` are auth-manager user ids (with the simple
auth manager: user names); only they can answer — not even an admin who is not listed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from airflow_aimod.operators.human_review import HumanReviewOperator
from airflow_aimod.operators.router import TaskRouterOperator
from airflow_aimod.operators.sql import SQLAgentOperator

REVIEWERS = [{"id": "admin", "name": "Admin"}, {"id": "reviewer", "name": "Data steward"}]
ANSWER_WITHIN = timedelta(hours=8)  # then the request is rejected (timeout_outcome="reject")
PII_COLUMNS = ["customers.email", "customers.phone", "customers.full_name"]
START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(
    dag_id="aimod_approvals",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("List the email addresses of customers in Germany", type="string", minLength=1,
                             maxLength=4000)},
    doc_md=__doc__,
) as dag:
    route = TaskRouterOperator(
        task_id="route",
        request="{{ params.request }}",
        agent_tasks={"sql_agent": "dispatch_sql_agent"},
        human_review_task_id="human_review",
    )
    dispatch = EmptyOperator(task_id="dispatch_sql_agent")
    review = HumanReviewOperator(
        task_id="human_review",
        router_task_id="route",
        agent_tasks={"sql_agent": "sql_agent"},
        assigned_users=REVIEWERS,
        response_timeout=ANSWER_WITHIN,
    )
    sql_agent = SQLAgentOperator(
        task_id="sql_agent",
        question="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=PII_COLUMNS,
        max_rows=200,
        trace_id="{{ ti.xcom_pull(task_ids='route', key='aimod_trace_id') }}",
        trigger_rule="none_failed_min_one_success",  # after the router's dispatch or a person's pick
        hitl=True,
        assigned_users=REVIEWERS,
        response_timeout=ANSWER_WITHIN,
        timeout_outcome="reject",
    )

    route >> [dispatch, review]
    [dispatch, review] >> sql_agent

with DAG(
    dag_id="aimod_approval_expires",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("List the email addresses of customers in Germany", type="string", minLength=1)},
    doc_md=__doc__,
):
    SQLAgentOperator(
        task_id="sql_agent",
        question="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=PII_COLUMNS,
        hitl=True,
        assigned_users=REVIEWERS,
        response_timeout=timedelta(seconds=20),
        timeout_outcome="reject",
    )
