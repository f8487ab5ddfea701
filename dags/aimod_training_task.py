"""Training as its own task: ``fit_churn`` fits and logs the churn model on a worker of its own; ``train_churn``
reads that MLflow run back, registers it, explains it and — with a person's approval on **Required Actions**
— moves the ``production`` alias to it (a rejection leaves the alias where it was).

The fit is the slow, CPU-bound part: as its own task it gets its own ``pool``/``queue`` (e.g. a worker with
more cores), ``retries`` and ``execution_timeout``, and no worker is held by the agent while the fit runs or
while the approval waits. The hand-off is the fit's XCom (its MLflow run id); the orchestrator trusts MLflow,
not XCom, for the run's metrics and model. ``airflow_aimod.demo.ml.with_churn_table`` adds ``customer_churn``
to a copy of the demo warehouse. Connections as in ``aimod_training``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.model_fit import ModelFitOperator
from airflow_aimod.operators.training import TrainingOrchestratorOperator

with DAG(
    dag_id="aimod_training_task",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml", "hitl"],
    params={"until": Param("2024-10", type="string"),
            "mlflow_conn_id": Param("", type="string", description="empty: the embedded MLflow store")},
    doc_md=__doc__,
) as dag:
    fit = ModelFitOperator(
        task_id="fit_churn",
        data_sql="SELECT id, tenure_months, monthly_spend, support_tickets, plan, region, churned "
                 "FROM customer_churn WHERE snapshot_month < '{{ params.until }}'",
        conn_id="aimod_warehouse",
        target="churned",
        estimators=["linear", "random_forest"],
        max_seconds=120,
        n_jobs=1,
        experiment="churn",
        mlflow_conn_id="{{ params.mlflow_conn_id }}",
        execution_timeout=timedelta(minutes=30),
        # pool="training", queue="ml": where a training job runs in your deployment
    )
    promote = TrainingOrchestratorOperator(
        task_id="train_churn",
        fit_task_id="fit_churn",
        experiment="churn",
        model_name="churn",
        promote_alias="production",
        mlflow_conn_id="{{ params.mlflow_conn_id }}",
        hitl=True,
        response_timeout=timedelta(hours=24),
    )
    fit >> promote
