"""Agent health: every 15 minutes, alert when an agent's success rate falls below 90% over the last hour.

Reads the AiMod store (``[aimod] store_url``; the embedded SQLite file by default) and calls a
notifier once with every breach — ``AimodLogNotifier`` writes it to this task's log; use
``SlackNotifier(text="{{ aimod_summary }}")`` or any Airflow notifier instead. Agents with fewer
than ``min_runs`` finished runs in the window are not judged, so one failure at night pages nobody.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.operators.alert_manager import AlertManagerOperator

with DAG(
    dag_id="aimod_health",
    schedule=timedelta(minutes=15),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["aimod", "example", "observability"],
    params={"min_success_rate": Param(0.9, type="number", minimum=0, maximum=1),
            "window_minutes": Param(60, type="integer", minimum=1),
            "min_runs": Param(5, type="integer", minimum=1)},
    doc_md=__doc__,
) as dag:

    @task(task_id="check_agent_health")
    def check_agent_health(params: dict | None = None) -> list[str]:
        """The breaches found (also sent to the notifier)."""
        from airflow.sdk import get_current_context

        from airflow_aimod.core.alerts.sources import alerts_from_health
        from airflow_aimod.core.store import DashboardQueries
        from airflow_aimod.notifications.log import AimodLogNotifier
        from airflow_aimod.observability.health import HealthRule
        from airflow_aimod.observability.sinks import price_table, shared_store, store_url

        url = store_url()
        if url is None:
            return []  # the store is switched off: nothing to judge
        rule = HealthRule(min_success_rate=float(params["min_success_rate"]),
                          window=timedelta(minutes=int(params["window_minutes"])), min_runs=int(params["min_runs"]))
        queries = DashboardQueries(shared_store(url), price_table=price_table())
        context = get_current_context()
        breaches = rule.check(queries, AimodLogNotifier(), context=context)
        alerts = [alert.to_dict() for alert in alerts_from_health(breaches)]
        context["ti"].xcom_push(key="aimod_alerts", value=alerts)  # for the alert manager below
        return [breach.describe() for breach in breaches]

    # The same breaches through the alert manager: deduplicated, throttled, escalated when nobody acknowledges.
    # Channels default to the task log; give it chat/mail connections (and list them in the envelope's channels).
    health_alerts = AlertManagerOperator(
        task_id="health_alerts",
        alerts="{{ ti.xcom_pull(task_ids='check_agent_health', key='aimod_alerts') | tojson }}",
        throttle=timedelta(hours=1),
    )
    check_agent_health() >> health_alerts
