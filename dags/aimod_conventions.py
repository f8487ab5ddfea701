"""TaskFlow agents: ``@task.route`` classifies the request a function returns, ``@task.sql_agent`` answers
the question another returns. Each agent task links to its trace on the AiMod page (extra link "AiMod
trace") and reports the tables it read to OpenLineage.

Trigger with ``{"request": "How many orders were placed in 2024?"}``. Connections: ``aimod_warehouse``
(sqlite or postgres) and ``aimod_llm_default`` (extra ``{"backend": "offline"}`` runs with no API key).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="aimod_conventions",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"request": Param("How many orders were placed in 2024?", type="string", minLength=1, maxLength=4000)},
    doc_md=__doc__,
) as dag:

    @task.route(agent_tasks={"sql_agent": "answer"}, human_review_task_id="human_review")
    def incoming(params=None) -> str:
        """The request to classify: here the DAG run's ``request`` parameter."""
        return params["request"]

    @task.sql_agent(conn_id="aimod_warehouse", max_rows=100,
                    pii_columns=["customers.email", "customers.phone", "customers.full_name"])
    def answer(params=None) -> str:
        """The question for the SQL agent (the text is used as is, never rendered as a template)."""
        return params["request"]

    @task(task_id="human_review")
    def human_review(decision: dict) -> dict:
        """A request the router would not dispatch alone, for a person."""
        return {"status": "escalated", "request": decision.get("request"), "trace_id": decision.get("trace_id")}

    route = incoming()
    route >> [answer(), human_review(route)]
