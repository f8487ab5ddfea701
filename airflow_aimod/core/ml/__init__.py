"""Machine-learning domain logic: drift statistics, evaluation metrics and verdicts, training plans, MLflow tracking.

Importing this package loads neither numpy, scipy, scikit-learn nor MLflow: each module imports
them inside the functions that compute, so an operator can validate its policy at DAG-parse time.
"""

from airflow_aimod.core.ml.policy import DriftPolicy, PromotionRule

__all__ = ["DriftPolicy", "PromotionRule"]
