"""Failure diagnosis from task logs: find the exception, classify it, count the retries left."""

from __future__ import annotations

from airflow_aimod.core.diagnosis.logs import Failure, LogRecord, find_failure, read_records
from airflow_aimod.core.diagnosis.rules import (
    PATTERNS,
    PERMANENT,
    TRANSIENT,
    UNKNOWN,
    Diagnosis,
    FailurePattern,
    RetryBudget,
    diagnose,
)

__all__ = ["PATTERNS", "PERMANENT", "TRANSIENT", "UNKNOWN", "Diagnosis", "Failure", "FailurePattern", "LogRecord",
           "RetryBudget", "diagnose", "find_failure", "read_records"]
