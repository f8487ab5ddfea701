"""Faithful summaries: an anomaly check on a metric, summarized for a stakeholder and checked claim by claim.

Trigger with e.g. ``{"series": [120, 118, 125, 131, 119, 122, 410, 124]}``. Connection: ``aimod_llm_default``.
The summary's every number, date, name and direction word is checked against the detector's outcome; a
summary that is not faithful ends ``refused`` and lists the claims that failed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.anomaly import AnomalyDetectorOperator
from airflow_aimod.operators.summarizer import SummarizerOperator

SERIES = [120, 118, 125, 131, 119, 122, 127, 121, 410, 124, 126, 118]

with DAG(
    dag_id="aimod_summaries",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"note": Param("", type="string", description="extra text to summarize with the outcome")},
    doc_md=__doc__,
) as dag:
    check = AnomalyDetectorOperator(task_id="orders_check", metric_name="orders per hour", series=SERIES)
    brief = SummarizerOperator(
        task_id="brief",
        source="{{ params.note }}",
        source_task_ids=["orders_check"],
        audience="stakeholder",
        max_words=60,
    )
    check >> brief
