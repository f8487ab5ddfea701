"""Drift detection: this quarter's orders against a reference window, column by column.

Trigger with e.g. ``{"reference_start": "2024-01-01", "reference_end": "2024-07-01", "current_start":
"2024-10-01", "current_end": "2025-01-01"}``. Connections: ``aimod_warehouse`` (sqlite or postgres) and
``aimod_llm_default``. ``airflow_aimod.demo.drift.with_drifted_orders`` makes a copy of the warehouse
where the amounts grew and a new channel appeared from 2024-10-01.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.drift import DriftDetectorOperator

WINDOW = ("SELECT channel, total_amount FROM orders "
          "WHERE order_date >= '{{{{ params.{0}_start }}}}' AND order_date < '{{{{ params.{0}_end }}}}'")

with DAG(
    dag_id="aimod_drift",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml"],
    params={
        "reference_start": Param("2024-01-01", type="string", format="date"),
        "reference_end": Param("2024-07-01", type="string", format="date"),
        "current_start": Param("2024-10-01", type="string", format="date"),
        "current_end": Param("2025-01-01", type="string", format="date"),
    },
    doc_md=__doc__,
) as dag:
    DriftDetectorOperator(
        task_id="order_drift",
        subject="orders (channel, amount)",
        reference_sql=WINDOW.format("reference"),
        current_sql=WINDOW.format("current"),
        conn_id="aimod_warehouse",
        categorical=["channel"],
    )
