"""Refusals: ``refused`` (the agent's graceful "I cannot answer that from this data") is a success by
default, with a warning in the task log; add ``"refused"`` to ``fail_on_status`` to fail the task instead.

Both tasks get the same question. Trigger with ``{"question": "..."}``. Connections: ``aimod_warehouse``
and ``aimod_llm_default`` (extra ``{"backend": "offline"}`` runs with no API key).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.sql import SQLAgentOperator

with DAG(
    dag_id="aimod_strict",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"question": Param("How many orders were placed in 2024?", type="string", minLength=1)},
    doc_md=__doc__,
) as dag:
    SQLAgentOperator(task_id="lenient", question="{{ params.question }}", conn_id="aimod_warehouse")
    SQLAgentOperator(task_id="strict", question="{{ params.question }}", conn_id="aimod_warehouse",
                     fail_on_status=("failed", "budget_exceeded", "refused"))
