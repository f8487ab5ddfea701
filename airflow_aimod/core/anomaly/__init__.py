"""Statistical anomaly detection on a metric series: robust z-score (MAD), IQR fences, seasonal baselines."""

from airflow_aimod.core.anomaly.detector import AnomalyDetector, Detection
from airflow_aimod.core.anomaly.sensitivity import Sensitivity

__all__ = ["AnomalyDetector", "Detection", "Sensitivity"]
