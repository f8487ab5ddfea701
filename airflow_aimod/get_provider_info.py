"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from airflow_aimod import __version__
from airflow_aimod.config_options import provider_config
from airflow_aimod.hooks.llm_form import connection_type


_MLFLOW_CONNECTION = {
    "hook-class-name": "airflow_aimod.hooks.mlflow.AimodMlflowHook",
    "hook-name": "AiMod MLflow",
    "connection-type": "aimod_mlflow",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "login"],
        "relabeling": {"host": "Tracking server URI (optional)", "password": "Tracking token (optional)"},
        "placeholders": {"host": "https://mlflow.example.com",
                         "extra": '{"backend_conn_id": "mlflow_postgres", "artifact_root": "s3://bucket/mlflow"}'},
    },
}


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
                                "airflow_aimod.operators.report_generator",
                                "airflow_aimod.operators.drift", "airflow_aimod.operators.model_evaluator",
                                "airflow_aimod.operators.experiment_tracker", "airflow_aimod.operators.training",
                                "airflow_aimod.operators.feature_engineer", "airflow_aimod.operators.model_fit",
                                "airflow_aimod.operators.workflow_coordinator",
                                "airflow_aimod.operators.plan_step", "airflow_aimod.operators.plan_outcome",
                                "airflow_aimod.operators.plan_arbitration",
                                "airflow_aimod.operators.store_retention"]},
        ],
        "sensors": [
            {"integration-name": "AiMod", "python-modules": ["airflow_aimod.sensors.approval"]},
        ],
        "triggers": [
            {"integration-name": "AiMod", "python-modules": ["airflow_aimod.triggers.approval"]},
        ],
        "hooks": [
            {"integration-name": "AiMod",
             "python-modules": ["airflow_aimod.hooks.llm", "airflow_aimod.hooks.warehouse",
                                "airflow_aimod.hooks.mlflow"]},
        ],
        "connection-types": [connection_type(), _MLFLOW_CONNECTION],
        "notifications": ["airflow_aimod.notifications.log.AimodLogNotifier"],
        "config": provider_config(),
        "plugins": [{"name": "aimod", "plugin-class": "airflow_aimod.plugins.aimod.AimodPlugin"}],
        "task-decorators": [
            {"name": "sql_agent", "class-name": "airflow_aimod.decorators.sql_agent.sql_agent_task"},
            {"name": "route", "class-name": "airflow_aimod.decorators.route.route_task"},
        ],
        "extra-links": ["airflow_aimod.links.AimodTraceLink", "airflow_aimod.links.RequiredActionsLink",
                        "airflow_aimod.links.AimodReportLink"],
    }
