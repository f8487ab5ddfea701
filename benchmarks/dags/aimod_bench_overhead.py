"""Benchmark DAGs for benchmarks/bench_overhead.py: one warehouse question, by our agent and by plain SQL.

``aimod_bench_overhead_agent``: ``SQLAgentOperator`` (offline engine) answers ``params.question``.
``aimod_bench_overhead_sql``: ``SQLExecuteQueryOperator`` runs ``dag_run.conf["sql"]`` — the query
the agent ran, handed over by the benchmark — on the same connection.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, Param

from airflow_aimod.operators.sql import SQLAgentOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(dag_id="aimod_bench_overhead_agent", schedule=None, start_date=START, catchup=False,
         params={"question": Param("How many orders are there per status?", type="string")},
         tags=["aimod", "bench"]):
    SQLAgentOperator(task_id="answer", question="{{ params.question }}", conn_id="aimod_warehouse",
                     llm_conn_id="offline", max_rows=1000)

with DAG(dag_id="aimod_bench_overhead_sql", schedule=None, start_date=START, catchup=False, tags=["aimod", "bench"]):
    SQLExecuteQueryOperator(task_id="answer", conn_id="aimod_warehouse", sql="{{ dag_run.conf['sql'] }}")
