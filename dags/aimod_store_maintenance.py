"""Daily AiMod store maintenance: delete events and outcomes older than ``[aimod] store_retention_days``.

Deletes run in small batches (``batch_size`` rows per transaction), so agent tasks writing to the
store meanwhile are not held up; runs still waiting for a person are kept. See docs/operations.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_aimod.operators.store_retention import StoreRetentionOperator

with DAG(dag_id="aimod_store_maintenance", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, max_active_runs=1, tags=["aimod", "maintenance"]):
    StoreRetentionOperator(task_id="purge_expired")
