"""Anomaly detection: daily orders in a window, judged against a weekday baseline and explained.

Trigger with e.g. ``{"start": "2024-04-01", "end": "2024-07-01"}``.
Connections: ``aimod_warehouse`` (sqlite or postgres) and ``aimod_llm_default``. The demo's
``airflow_aimod.demo.anomalies.with_order_spike`` makes a copy of the warehouse with a known spike.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.anomaly import AnomalyDetectorOperator

with DAG(
    dag_id="aimod_anomalies",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={
        "start": Param("2024-04-01", type="string", format="date"),
        "end": Param("2024-07-01", type="string", format="date"),
    },
    doc_md=__doc__,
) as dag:
    AnomalyDetectorOperator(
        task_id="daily_orders",
        metric_name="orders per day",
        metric_sql=(
            "SELECT order_date AS day, COUNT(*) AS orders FROM orders "
            "WHERE order_date >= '{{ params.start }}' AND order_date < '{{ params.end }}' GROUP BY 1 ORDER BY 1"
        ),
        conn_id="aimod_warehouse",
        sensitivity="low",
    )
