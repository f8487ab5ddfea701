"""The AiMod store: trace events and one outcome row per agent run, in SQLite or Postgres.

``open_store(url)`` picks the implementation from the URL (``sqlite:///abs/path``,
``postgresql://...``) and migrates the schema on first use. ``StoreSink`` feeds it
from a ``Tracer``; ``DashboardQueries`` reads it for the dashboard and health rules.
"""

from __future__ import annotations

from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.factory import open_store
from airflow_aimod.core.store.queries import DashboardQueries
from airflow_aimod.core.store.records import Outcome
from airflow_aimod.core.store.sink import StoreSink

__all__ = ["DashboardQueries", "EventStore", "Outcome", "StoreSink", "open_store"]
