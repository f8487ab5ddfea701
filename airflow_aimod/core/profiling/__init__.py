"""Table profiling in the database, and the data-quality judgement made from the profile.

``TableProfiler`` (``profiler``) builds aggregate SQL for SQLite and PostgreSQL and assembles a
``TableProfile`` (``profile``, the shape ``PROFILE_CONTRACT`` fixes); ``assess`` (``quality``) applies
declared ``QualityThresholds`` to it and returns a ``core.disagreement`` assessment.

The names load on first use (PEP 562): a DAG file validating ``QualityThresholds`` does not pay for the
query builder, the schema types and the executors the profiler needs only when it runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_aimod.core.profiling._queries import ProfileQuery, counts_only
    from airflow_aimod.core.profiling.profile import ColumnProfile, TableProfile
    from airflow_aimod.core.profiling.profiler import TableProfiler
    from airflow_aimod.core.profiling.quality import QualityThresholds, assess

_HOMES = {"ProfileQuery": "_queries", "counts_only": "_queries", "ColumnProfile": "profile", "TableProfile": "profile",
          "TableProfiler": "profiler", "QualityThresholds": "quality", "assess": "quality"}

__all__ = ["ColumnProfile", "ProfileQuery", "QualityThresholds", "TableProfile", "TableProfiler", "assess",
           "counts_only"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
