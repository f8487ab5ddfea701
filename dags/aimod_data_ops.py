"""Two detectors judge daily orders; when they disagree, a person arbitrates in the Airflow UI.

``weekday_baseline`` compares each day with the same weekday (seasonal); ``whole_series`` with
the whole window (robust z-score). The rule ``seasonal_vs_global`` sends a conflict to a person
on the **Required Actions** page; agreement continues at once. The DAG then takes the
``investigate`` or ``publish`` branch. Try ``{"start": "2024-04-01", "end": "2024-07-01"}`` on a
warehouse with the demo's injected spike (``demo.anomalies.with_order_spike``): both flag
2024-06-15 and agree. ``{"start": "2024-01-01", "end": "2024-04-01"}`` makes them disagree.
Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.core.disagreement import DisagreementRule
from airflow_aimod.operators.anomaly import AnomalyDetectorOperator
from airflow_aimod.operators.arbitration import ArbitrationOperator

DAILY_ORDERS = ("SELECT order_date AS day, COUNT(*) AS orders FROM orders WHERE order_date >= '{{ params.start }}' "
                "AND order_date < '{{ params.end }}' GROUP BY 1 ORDER BY 1")
RULE = DisagreementRule.of("seasonal_vs_global", "anomaly_detector", "anomaly_detector")

with DAG(
    dag_id="aimod_data_ops",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "hitl"],
    params={"start": Param("2024-04-01", type="string", format="date"),
            "end": Param("2024-07-01", type="string", format="date")},
    doc_md=__doc__,
) as dag:
    seasonal = AnomalyDetectorOperator(task_id="weekday_baseline", metric_name="orders per day",
                                       metric_sql=DAILY_ORDERS, conn_id="aimod_warehouse", method="seasonal")
    whole = AnomalyDetectorOperator(task_id="whole_series", metric_name="orders per day",
                                    metric_sql=DAILY_ORDERS, conn_id="aimod_warehouse", method="robust_z")
    arbitrate = ArbitrationOperator(task_id="arbitrate", rule=RULE, left_task_id="weekday_baseline",
                                    right_task_id="whole_series",
                                    verdict_tasks={"anomalous": "investigate", "normal": "publish"})

    @task(task_id="investigate")
    def investigate(judgement: dict) -> dict:
        """Hand the flagged days to the on-call engineer (here: return them)."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"],
                "flagged": [f["ts"] for side in ("left", "right") for f in judgement[side].get("findings", [])]}

    @task(task_id="publish")
    def publish(judgement: dict) -> dict:
        """The numbers look normal: let downstream reporting use them."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"]}

    [seasonal, whole] >> arbitrate
    arbitrate >> [investigate(arbitrate.output), publish(arbitrate.output)]
