"""Table profiling in the database, and the data-quality judgement made from the profile.

``TableProfiler`` (``profiler``) builds aggregate SQL for SQLite and PostgreSQL and assembles a
``TableProfile`` (``profile``, the shape ``PROFILE_CONTRACT`` fixes); ``assess`` (``quality``) applies
declared ``QualityThresholds`` to it and returns a ``core.disagreement`` assessment.
"""

from __future__ import annotations

from airflow_aimod.core.profiling._queries import ProfileQuery, counts_only
from airflow_aimod.core.profiling.profile import ColumnProfile, TableProfile
from airflow_aimod.core.profiling.profiler import TableProfiler
from airflow_aimod.core.profiling.quality import QualityThresholds, assess

__all__ = ["ColumnProfile", "ProfileQuery", "QualityThresholds", "TableProfile", "TableProfiler", "assess",
           "counts_only"]
