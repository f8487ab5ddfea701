"""Reports people open: a DAG run's agent outcomes as an HTML, Markdown and PDF pipeline-health report.

The report (tables and charts from the outcomes, a narrative checked for faithfulness) is written under
``[aimod] report_url`` (default ``file://$AIRFLOW_HOME/aimod/reports``), linked from the task ("AiMod report")
and announced as an event of the asset ``aimod://reports/pipeline_health`` for DAGs scheduled on it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset

from airflow_aimod.operators.anomaly import AnomalyDetectorOperator
from airflow_aimod.operators.report_generator import ReportGeneratorOperator
from airflow_aimod.operators.summarizer import SummarizerOperator

SERIES = [120, 118, 125, 131, 119, 122, 127, 121, 410, 124, 126, 118]

with DAG(
    dag_id="aimod_reports",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    doc_md=__doc__,
) as dag:
    check = AnomalyDetectorOperator(task_id="orders_check", metric_name="orders per hour", series=SERIES)
    brief = SummarizerOperator(task_id="brief", source_task_ids=["orders_check"], max_words=40)
    report = ReportGeneratorOperator(
        task_id="report",
        kind="pipeline_health",
        source_task_ids=["orders_check", "brief"],
        formats=["html", "md", "pdf"],
        outlets=[Asset("aimod://reports/pipeline_health")],
    )
    check >> brief >> report
