"""Profile a warehouse table; when the profiler and the anomaly detector disagree, a person arbitrates.

``profile_orders`` profiles a table in the database (row count, null rates, distinct counts,
ranges, quantiles, top values, inferred types) and judges its quality against declared
thresholds. ``daily_orders`` judges orders per day in a window. The rule ``profile_vs_detector``
compares the two verdicts: agreement continues at once; the profiler saying ``normal`` while
the detector flags a spike sends the choice to a person on **Required Actions**, and the DAG
takes ``investigate`` or ``publish`` on the decision. On a warehouse with the demo's injected
spike (``demo.anomalies.with_order_spike``), ``{"start": "2024-01-01", "end": "2024-04-01"}``
agrees (both normal); ``{"start": "2024-04-01", "end": "2024-07-01"}`` conflicts: the table is
clean, but 2024-06-15 has 300 extra orders. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.core.disagreement import DisagreementRule
from airflow_aimod.operators.anomaly import AnomalyDetectorOperator
from airflow_aimod.operators.arbitration import ArbitrationOperator
from airflow_aimod.operators.profiler import DataProfilerOperator

DAILY_ORDERS = ("SELECT order_date AS day, COUNT(*) AS orders FROM orders WHERE order_date >= '{{ params.start }}' "
                "AND order_date < '{{ params.end }}' GROUP BY 1 ORDER BY 1")
RULE = DisagreementRule.of("profile_vs_detector", "data_profiler", "anomaly_detector")

with DAG(
    dag_id="aimod_profiling",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"table": Param("orders", type="string", minLength=1, maxLength=200),
            "start": Param("2024-01-01", type="string", format="date"),
            "end": Param("2024-04-01", type="string", format="date")},
    doc_md=__doc__,
) as dag:
    profile = DataProfilerOperator(
        task_id="profile_orders",
        table="{{ params.table }}",
        conn_id="aimod_warehouse",
        sample_rows=50_000,
        thresholds={"max_null_rate": 0.05, "key_columns": ["id"]},
        pii_columns=["customers.email", "customers.phone", "customers.full_name"],
    )
    detect = AnomalyDetectorOperator(task_id="daily_orders", metric_name="orders per day", metric_sql=DAILY_ORDERS,
                                     conn_id="aimod_warehouse", sensitivity="low")
    arbitrate = ArbitrationOperator(task_id="arbitrate", rule=RULE, left_task_id="profile_orders",
                                    right_task_id="daily_orders",
                                    verdict_tasks={"anomalous": "investigate", "normal": "publish"})

    @task(task_id="investigate")
    def investigate(judgement: dict) -> dict:
        """Hand the findings of both agents to the on-call engineer (here: return them)."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"],
                "findings": [f.get("message") or f.get("ts") for side in ("left", "right")
                             for f in judgement[side].get("findings", [])]}

    @task(task_id="publish")
    def publish(judgement: dict) -> dict:
        """The table and the metric look normal: let downstream reporting use them."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"]}

    [profile, detect] >> arbitrate
    arbitrate >> [investigate(arbitrate.output), publish(arbitrate.output)]
