"""Alerts without the noise: an anomaly check and an explicit burst, routed by severity through Airflow notifiers.

Trigger with e.g. ``{"burst": 1000}``: that many identical critical alerts go out as one message per channel,
the rest are counted as held back. Connections: ``aimod_chat`` (a ``slackwebhook`` or ``apprise`` connection)
and ``aimod_mail`` (an ``smtp`` connection); both must be in the envelope's ``channels`` or the send is blocked.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.alert_manager import AlertManagerOperator
from airflow_aimod.operators.anomaly import AnomalyDetectorOperator

SERIES = [120, 118, 125, 131, 119, 122, 127, 121, 410, 124, 126, 118]
BURST = '{{ ([{"title": "orders load failed", "severity": "critical", "source": "orders_load"}] * params.burst) | tojson }}'

with DAG(
    dag_id="aimod_alerts",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example"],
    params={"burst": Param(1, type="integer", minimum=0, maximum=10000)},
    doc_md=__doc__,
) as dag:
    check = AnomalyDetectorOperator(task_id="orders_check", metric_name="orders per hour", series=SERIES)
    alerts = AlertManagerOperator(
        task_id="alerts",
        alerts=BURST,
        source_task_ids=["orders_check"],
        channels={"chat": ["aimod_chat"], "mail": ["aimod_mail"], "digest": ["aimod_chat"],
                  "escalation": ["aimod_mail"]},
        envelope={"channels": ["aimod_chat", "aimod_mail"]},
        mail_to=["oncall@example.com"],
        throttle=timedelta(minutes=30),
        escalate_after=timedelta(minutes=15),
        flush_digest=True,
    )
    check >> alerts
