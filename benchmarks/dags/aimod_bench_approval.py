"""Benchmark DAGs for benchmarks/bench_approval.py: the same approval asked by our agent and by Airflow.

``aimod_bench_agent``: ``SQLAgentOperator(hitl=True)`` on a PII question — it drafts the query,
asks, and on approval resumes its graph from the checkpoint and runs the query.
``aimod_bench_native``: Airflow's own ``ApprovalOperator`` — it asks and returns on approval.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG

from airflow_aimod.operators.sql import SQLAgentOperator

START = pendulum.datetime(2024, 1, 1, tz="UTC")
REVIEWERS = [{"id": "reviewer", "name": "Benchmark reviewer"}]

with DAG(dag_id="aimod_bench_agent", schedule=None, start_date=START, catchup=False, tags=["aimod", "bench"]):
    SQLAgentOperator(task_id="ask", question="List the email addresses of customers in Germany",
                     conn_id="aimod_warehouse", pii_columns=["customers.email"], max_rows=200, hitl=True,
                     assigned_users=REVIEWERS)

with DAG(dag_id="aimod_bench_native", schedule=None, start_date=START, catchup=False, tags=["aimod", "bench"]):
    ApprovalOperator(task_id="ask", subject="Approve the query on customers.email?", assigned_users=REVIEWERS)
