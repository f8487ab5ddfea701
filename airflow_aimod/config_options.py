"""The ``[aimod]`` configuration section: every option the package reads, declared once.

``get_provider_info`` hands this table to Airflow (so ``airflow config list --section aimod`` shows
each option with its description and default) and ``settings.aimod_setting`` reads only options named
here, falling back to the default declared here. Pure data: importing it costs nothing.
"""

from __future__ import annotations

from typing import Any

SECTION = "aimod"
VERSION_ADDED = "0.1.0"


def _option(description: str, example: str, type_: str = "string", default: str = "") -> dict[str, Any]:
    return {"description": description, "version_added": VERSION_ADDED, "type": type_, "example": example,
            "default": default}


OPTIONS: dict[str, dict[str, Any]] = {
    "checkpoint_conn_id": _option(
        "Airflow connection id (conn type postgres) of the database that keeps paused agent runs (LangGraph "
        "checkpoints). The production choice; resolved through Airflow's connections and secrets backends. "
        "Set this or checkpoint_url, not both. Empty: checkpoint_url.\n", "aimod_checkpoints"),
    "checkpoint_url": _option(
        "URL of the checkpoint database (sqlite:////abs/path, postgresql://..., or memory:// in tests). Empty (and no "
        "checkpoint_conn_id): an embedded SQLite file $AIRFLOW_HOME/aimod/checkpoints.sqlite, for one machine "
        "only.\n", "postgresql://aimod@db:5432/aimod"),
    "store_conn_id": _option(
        "Airflow connection id (conn type postgres) of the AiMod store: events, outcomes, the token ledger "
        "and the dashboard's data. Set this or store_url, not both.\n", "aimod_store"),
    "store_url": _option(
        "URL of the AiMod store (sqlite:////abs/path or postgresql://...), or 'off' to keep no store (no "
        "dashboard, no token ledger across retries). Empty (and no store_conn_id): an embedded SQLite file "
        "$AIRFLOW_HOME/aimod/store.sqlite.\n", "sqlite:////opt/airflow/aimod/store.sqlite"),
    "store_retention_days": _option(
        "Days the AiMod store keeps events, finished outcomes and token-ledger rows; the maintenance DAG "
        "aimod_store_maintenance (StoreRetentionOperator) deletes older ones in small batches, without locking "
        "tasks that write meanwhile. Runs still waiting for a person are kept whatever their age.\n", "30",
        type_="integer", default="90"),
    "price_table": _option(
        "JSON object: model name -> price per 1000 input and output tokens, used for the cost of each run on "
        "the dashboard. Empty: costs are not computed (the dashboard names the unpriced models).\n",
        '{"gpt-4o-mini": {"input_per_1k": 0.00015, "output_per_1k": 0.0006}}'),
    "dag_run_token_budget": _option(
        "Tokens every agent task of one DAG run may spend together (counted in the AiMod store), unless the "
        "operator or the DAG's default_args set dag_run_token_budget. Empty: no shared limit.\n", "50000",
        type_="integer"),
    "envelopes": _option(
        "JSON object: agent name -> permission-envelope overrides (the fields of Envelope.to_dict()), layered "
        "between the registry default and each task's envelope argument. Validated when a DAG is parsed.\n",
        '{"sql_agent": {"sql": {"max_tables": 3}, "token_budget": 8000}}'),
    "report_url": _option(
        "Where ReportGeneratorOperator writes reports when the task names no output_url: an ObjectStoragePath "
        "URL (file://, s3://, gs://, ...). Empty: file://$AIRFLOW_HOME/aimod/reports.\n", "s3://reports/aimod"),
    "learn_from_approvals": _option(
        "Whether approvals on Required Actions become verified examples in the AiMod store (an SQL query a "
        "person approved and that ran; the agent a person picked for a request). 'false' turns it off for every "
        "task, whatever the operators' learn_from_approvals says. PII queries are never kept.\n", "false",
        type_="boolean", default="True"),
}


def provider_config() -> dict[str, Any]:
    """The ``config`` entry of ``get_provider_info``."""
    return {SECTION: {"description": "Options of the airflow-aimod provider (LangGraph agents as operators): where "
                                     "paused runs and the AiMod store live, prices, shared budgets and "
                                     "permission envelopes.\n",
                      "options": OPTIONS}}
