"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from airflow_aimod import __version__
from airflow_aimod.config_options import provider_config
from airflow_aimod.hooks.llm_form import connection_type


def get_provider_info() -> dict:
    """Return what this provider offers: hooks, connection types, operators, config, plugin, decorators, links."""
    return {
        "package-name": "airflow-aimod",
        "name": "AiMod",
        "description": "LangGraph agents as Airflow operators: explicit routing, bounded autonomy, humans in the loop.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "AiMod", "external-doc-url": "https://github.com/airflow-aimod/airflow-aimod",
             "tags": ["ai"]},
        ],
        "operators": [
            {"integration-name": "AiMod",
             "python-modules": ["airflow_aimod.operators.router", "airflow_aimod.operators.sql",
                                "airflow_aimod.operators.human_review", "airflow_aimod.operators.anomaly",
                                "airflow_aimod.operators.arbitration", "airflow_aimod.operators.profiler",
                                "airflow_aimod.operators.etl_monitor", "airflow_aimod.operators.validator",
                                "airflow_aimod.operators.summarizer", "airflow_aimod.operators.alert_manager",
                                "airflow_aimod.operators.report_generator"]},
        ],
        "sensors": [
            {"integration-name": "AiMod", "python-modules": ["airflow_aimod.sensors.approval"]},
        ],
        "triggers": [
            {"integration-name": "AiMod", "python-modules": ["airflow_aimod.triggers.approval"]},
        ],
        "hooks": [
            {"integration-name": "AiMod",
             "python-modules": ["airflow_aimod.hooks.llm", "airflow_aimod.hooks.warehouse"]},
        ],
        "connection-types": [connection_type()],
        "notifications": ["airflow_aimod.notifications.log.AimodLogNotifier"],
        "config": provider_config(),
        "plugins": [{"name": "aimod", "plugin-class": "airflow_aimod.plugins.aimod.AimodPlugin"}],
        "task-decorators": [
            {"name": "sql_agent", "class-name": "airflow_aimod.decorators.sql_agent.sql_agent_task"},
            {"name": "route", "class-name": "airflow_aimod.decorators.route.route_task"},
        ],
        "extra-links": ["airflow_aimod.links.AimodTraceLink", "airflow_aimod.links.RequiredActionsLink"],
    }
