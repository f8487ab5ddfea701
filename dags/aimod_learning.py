"""Learning from approvals: what a person approves on Required Actions becomes a verified example.

Every query of this DAG's SQL agent waits for a person (``envelope={"require_approval": ["sql.read"]}``).
Approve it, or edit the ``sql`` field and approve: once the query has run, the question and the query
that ran are kept as a verified example for ``aimod_warehouse`` (``aimod examples list``). The next
question of the same shape with other values (``{"request": "Total order amount in the mobile channel"}``
after ``... in the web channel``) is answered by reusing it. A rejection, a timeout, a query that failed
and any query touching the PII columns below teach nothing.

When the router is unsure, a person picks the agent (``human_review``); that pick is kept as a router
example, so the next similar request is dispatched without asking. Turn learning off per task with
``learn_from_approvals=False``, everywhere with ``[aimod] learn_from_approvals = false``.
Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from airflow_aimod.operators.human_review import HumanReviewOperator
from airflow_aimod.operators.router import TaskRouterOperator
from airflow_aimod.operators.sql import SQLAgentOperator

with DAG(
    dag_id="aimod_learning",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"request": Param("Total order amount in the web channel", type="string", minLength=1, maxLength=4000)},
    doc_md=__doc__,
) as dag:
    route = TaskRouterOperator(
        task_id="route",
        request="{{ params.request }}",
        warehouse_conn_id="aimod_warehouse",  # its words and verified examples inform the routing
        agent_tasks={"sql_agent": "dispatch_sql_agent"},
        human_review_task_id="human_review",
    )
    dispatch = EmptyOperator(task_id="dispatch_sql_agent")
    review = HumanReviewOperator(task_id="human_review", router_task_id="route", agent_tasks={"sql_agent": "sql_agent"})
    sql_agent = SQLAgentOperator(
        task_id="sql_agent",
        question="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=["customers.email", "customers.phone", "customers.full_name"],
        envelope={"require_approval": ["sql.read"]},  # a person sees every query before it runs
        trace_id="{{ ti.xcom_pull(task_ids='route', key='aimod_trace_id') }}",
        trigger_rule="none_failed_min_one_success",  # after the router's dispatch or a person's pick
        hitl=True,
        learn_from_approvals=True,  # the default, spelled out
    )

    route >> [dispatch, review]
    [dispatch, review] >> sql_agent
