"""Read-only query executors: what an agent's SQL actually runs through.

``SqliteReadOnlyExecutor`` (``executors.sqlite``) and ``PostgresReadOnlyExecutor``
(``executors.postgres``, needs psycopg) are imported from their modules so that
importing this package loads no database driver.
"""

from __future__ import annotations

from airflow_aimod.core.executors.base import QueryResult, ReadOnlyExecutor

__all__ = ["QueryResult", "ReadOnlyExecutor"]
