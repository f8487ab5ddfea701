"""Training: a churn model trained on the warehouse, logged and registered in MLflow; a person approves moving
the ``production`` alias to the new version on the **Required Actions** page (a rejection leaves it).

``airflow_aimod.demo.ml.with_churn_table`` adds the ``customer_churn`` table to a copy of the demo
warehouse. Connections: ``aimod_warehouse`` and ``aimod_llm_default``; MLflow is the embedded store under
``$AIRFLOW_HOME/aimod`` (``mlflow_conn_id``: an ``aimod_mlflow`` or ``postgres`` connection otherwise).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.training import TrainingOrchestratorOperator

with DAG(
    dag_id="aimod_training",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml", "hitl"],
    params={"until": Param("2024-10", type="string"),
            "mlflow_conn_id": Param("", type="string", description="empty: the embedded MLflow store")},
    doc_md=__doc__,
) as dag:
    TrainingOrchestratorOperator(
        task_id="train_churn",
        data_sql="SELECT id, tenure_months, monthly_spend, support_tickets, plan, region, churned "
                 "FROM customer_churn WHERE snapshot_month < '{{ params.until }}'",
        conn_id="aimod_warehouse",
        target="churned",
        estimators=["linear", "random_forest"],
        max_seconds=120,
        experiment="churn",
        model_name="churn",
        promote_alias="production",
        mlflow_conn_id="{{ params.mlflow_conn_id }}",
        hitl=True,
        response_timeout=timedelta(hours=24),
    )
