"""Quickstart: route a request, answer data questions with the SQL agent, profile tables, send the rest to a person.

A question whose query touches personal data needs a person's approval: this DAG runs without
Required Actions (``dags/aimod_approvals.py`` shows ``hitl=True``), so the SQL agent hands such a
request to the ``needs_a_person`` task, with the query it proposed, instead of running it.

Trigger with a request, e.g. ``{"request": "What is the total revenue by country in 2024?"}``.
Connections: ``aimod_warehouse`` (sqlite or postgres) and ``aimod_llm_default`` (conn type
``aimod_llm``; extra ``{"backend": "offline"}`` runs with no API key).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.operators.profiler import DataProfilerOperator
from airflow_aimod.operators.router import TaskRouterOperator
from airflow_aimod.operators.sql import SQLAgentOperator

with DAG(
    dag_id="aimod_quickstart",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"request": Param("How many orders were placed in 2024?", type="string", minLength=1, maxLength=4000)},
    doc_md=__doc__,
) as dag:
    route = TaskRouterOperator(
        task_id="route",
        request="{{ params.request }}",
        agent_tasks={"sql_agent": "sql_agent", "data_profiler": "data_profiler"},
        human_review_task_id="human_review",
        fallback_task_id="agent_unavailable",
    )

    sql_agent = SQLAgentOperator(
        task_id="sql_agent",
        question="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=["customers.email", "customers.phone", "customers.full_name"],
        max_rows=200,
        human_task_id="needs_a_person",
    )

    data_profiler = DataProfilerOperator(
        task_id="data_profiler",
        request="{{ params.request }}",
        conn_id="aimod_warehouse",
        pii_columns=["customers.email", "customers.phone", "customers.full_name"],
    )

    @task(task_id="human_review")
    def human_review(decision: dict) -> dict:
        """Record a request the router would not dispatch alone, for a person to pick up."""
        return {"status": "escalated", "request": decision.get("request"), "trace_id": decision.get("trace_id"),
                "reason": decision.get("reason"), "scores": decision.get("scores")}

    @task(task_id="agent_unavailable")
    def agent_unavailable(decision: dict) -> dict:
        """A confident route to an agent this DAG does not run: say so, and hand it to a person."""
        return {"status": "escalated", "agent": decision.get("agent"), "trace_id": decision.get("trace_id"),
                "reason": f"agent {decision.get('agent')} has no task in this DAG; a person takes the request"}

    @task(task_id="needs_a_person")
    def needs_a_person(outcome: dict) -> dict:
        """The SQL agent would not run the query alone (PII, budget, an error): record it for a person."""
        pending = outcome.get("pending_approval") or {}
        proposed = {f["name"]: f["value"] for f in pending.get("editable") or ()}
        return {"status": outcome.get("status"), "trace_id": outcome.get("trace_id"), "reason": outcome.get("reason"),
                "proposed_sql": proposed.get("sql")}

    route >> [sql_agent, data_profiler, human_review(route.output), agent_unavailable(route.output)]
    sql_agent >> needs_a_person(sql_agent.output)
