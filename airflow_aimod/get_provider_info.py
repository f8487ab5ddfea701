"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations


def _field(label: str, description: str, schema: dict) -> dict:
    return {"label": label, "description": description, "schema": schema}


_LLM_CONNECTION = {
    "hook-class-name": "airflow_aimod.hooks.llm.AimodLLMHook",
    "hook-name": "AiMod LLM",
    "connection-type": "aimod_llm",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "login"],
        "relabeling": {"host": "Base URL (OpenAI-compatible, optional)", "password": "API key"},
        "placeholders": {
            "host": "https://api.openai.com/v1",
            "extra": '{"backend": "openai", "model": "gpt-4o-mini", "timeout": 60, "max_retries": 3}',
        },
    },
    "conn-fields": {
        "backend": _field("Backend", "openai: any OpenAI-compatible server (host + API key); offline: the built-in "
                          "deterministic engine, no network.",
                          {"type": ["string", "null"], "enum": ["openai", "offline"], "default": "openai"}),
        "model": _field("Model", "Model name sent to the server (default gpt-4o-mini).", {"type": ["string", "null"]}),
        "timeout": _field("Timeout (s)", "Per-request timeout in seconds (default 60).",
                          {"type": ["number", "null"], "exclusiveMinimum": 0}),
        "max_retries": _field("Max retries", "Client retries on 429/5xx/timeouts (default 3).",
                              {"type": ["integer", "null"], "minimum": 0}),
        "temperature": _field("Temperature", "Sampling temperature (default 0).", {"type": ["number", "null"], "minimum": 0}),
        "max_output_tokens": _field("Max output tokens", "Cap on tokens per reply (default 1024).",
                                    {"type": ["integer", "null"], "minimum": 1}),
    },
}


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
    """Return what this provider offers: hooks, connection types, operators."""
    return {
        "package-name": "airflow-aimod",
        "name": "AiMod",
        "description": "LangGraph agents as Airflow operators: explicit routing, bounded autonomy, humans in the loop.",
        "versions": ["0.1.0"],
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
                                "airflow_aimod.operators.drift", "airflow_aimod.operators.model_evaluator",
                                "airflow_aimod.operators.experiment_tracker", "airflow_aimod.operators.training"]},
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
        "connection-types": [_LLM_CONNECTION, _MLFLOW_CONNECTION],
        "notifications": ["airflow_aimod.notifications.log.AimodLogNotifier"],
    }
