"""Model checks before a promotion: the evaluator judges a challenger, the drift detector the inputs; when the
evaluator says "fine" but the inputs drifted, a person arbitrates in the Airflow UI.

``evaluate`` scores version ``params.challenger`` of the registered model ``churn`` and the version its
``champion`` alias points at on the last quarter (``customer_churn``), by a declared rule (ROC AUC lift,
Brier score non-inferiority, at least 100 rows); the verdict goes to MLflow and XCom. ``input_drift`` compares
the same quarter's inputs with the training months. The rule ``evaluation_vs_drift`` sends the conflict
(challenger ``normal``, inputs ``anomalous``) to the **Required Actions** page; agreement continues at once
(``ready`` or ``hold``). Connections: ``aimod_warehouse``, ``aimod_llm_default``; MLflow is the embedded
store under ``$AIRFLOW_HOME/aimod`` (set ``mlflow_conn_id`` for Postgres or a tracking server).
``airflow_aimod.demo.ml.with_churn_table`` adds the table (``drift_since="2024-10"`` makes the inputs drift).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_aimod.core.disagreement import DisagreementRule
from airflow_aimod.operators.arbitration import ArbitrationOperator
from airflow_aimod.operators.drift import DriftDetectorOperator
from airflow_aimod.operators.model_evaluator import ModelEvaluatorOperator

COLUMNS = "id, tenure_months, monthly_spend, support_tickets, plan, region, churned"
RULE = DisagreementRule.of("evaluation_vs_drift", "model_evaluator", "drift_detector",
                           conflicts=[("normal", "anomalous")])  # "challenger fine" vs "inputs drifted"

with DAG(
    dag_id="aimod_model_checks",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml", "hitl"],
    params={"challenger": Param("2", type="string"), "holdout_from": Param("2024-10", type="string")},
    doc_md=__doc__,
) as dag:
    evaluate = ModelEvaluatorOperator(
        task_id="evaluate",
        model_name="churn",
        challenger="{{ params.challenger }}",
        holdout_sql=f"SELECT {COLUMNS} FROM customer_churn WHERE snapshot_month >= '{{{{ params.holdout_from }}}}'",
        conn_id="aimod_warehouse",
        target="churned",
        champion_alias="champion",
        primary="roc_auc", min_lift=0.01, guards={"brier": 0.01}, min_samples=100,
    )
    drift = DriftDetectorOperator(
        task_id="input_drift",
        subject="churn model inputs",
        reference_sql="SELECT tenure_months, monthly_spend, support_tickets, plan, region FROM customer_churn "
                      "WHERE snapshot_month < '{{ params.holdout_from }}'",
        current_sql="SELECT tenure_months, monthly_spend, support_tickets, plan, region FROM customer_churn "
                    "WHERE snapshot_month >= '{{ params.holdout_from }}'",
        conn_id="aimod_warehouse",
    )
    arbitrate = ArbitrationOperator(task_id="arbitrate", rule=RULE, left_task_id="evaluate",
                                    right_task_id="input_drift",
                                    verdict_tasks={"normal": "ready", "anomalous": "hold"})

    @task(task_id="ready")
    def ready(judgement: dict) -> dict:
        """The challenger may go to the training orchestrator's promotion (which asks a person again)."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"]}

    @task(task_id="hold")
    def hold(judgement: dict) -> dict:
        """Keep the champion; the findings say why."""
        return {"verdict": judgement["verdict"], "decided_by": judgement["decided_by"],
                "findings": [f for side in ("left", "right") for f in judgement[side].get("findings", [])]}

    [evaluate, drift] >> arbitrate
    arbitrate >> [ready(arbitrate.output), hold(arbitrate.output)]
