"""Questions about MLflow runs: "which run has the best roc_auc this week", "what changed between run A and B".

Trigger with e.g. ``{"question": "what changed between swift-owl and calm-cat", "experiment": "churn"}``.
MLflow is the embedded store under ``$AIRFLOW_HOME/aimod`` unless ``mlflow_conn_id`` names an
``aimod_mlflow`` (tracking server or URI) or ``postgres`` (backend store) connection. Read-only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.experiment_tracker import ExperimentTrackerOperator

with DAG(
    dag_id="aimod_experiments",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml"],
    params={"question": Param("which run has the best holdout_roc_auc this week", type="string"),
            "experiment": Param("churn", type="string")},
    render_template_as_native_obj=False,
    doc_md=__doc__,
) as dag:
    ExperimentTrackerOperator(
        task_id="ask_mlflow",
        question="{{ params.question }}",
        experiments=["{{ params.experiment }}"],
    )
