"""``SQLiteEventStore``: the embedded store (a WAL-mode file under ``$AIRFLOW_HOME/aimod``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from airflow_aimod.core.sqlite_wal import connect_wal
from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.urls import sqlite_path


class SQLiteEventStore(EventStore):
    """Store in one SQLite file; ``memory://`` keeps it in this process only (tests)."""

    dialect = "sqlite"

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0) -> None:
        super().__init__(url)
        self.path = None if url.startswith("memory://") else sqlite_path(url)
        self.busy_timeout_s = busy_timeout_s

    def _connect(self) -> Any:
        if self.path is None:
            return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        conn = connect_wal(self.path, timeout_s=self.busy_timeout_s, check_same_thread=False,
                           isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _lock_schema(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")  # waits (busy timeout) while another process migrates

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def bucket(self, expr: str, origin: float, width: float) -> str:
        return f"CAST(({expr} - {float(origin)!r}) / {float(width)!r} AS INTEGER)"
