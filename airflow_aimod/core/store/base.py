"""``EventStore``: the store interface, its shared SQL, and ``open_store(url)``.

SQL is written once with ``?`` placeholders; a dialect subclass supplies the connection,
the migration lock and the few functions the dialects spell differently. One connection
per store, guarded by a lock, each operation in its own transaction.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_aimod.core.store.migrations import migrate
from airflow_aimod.core.store.records import EVENT_COLUMNS, Outcome, event_row

SCHEMES = ("sqlite:///", "memory://", "postgresql://", "postgres://")

_OUTCOME_COLUMNS = tuple(Outcome.__dataclass_fields__)
_OUTCOME_MERGE = (
    "status = excluded.status, reason = excluded.reason, model = excluded.model, dag_id = excluded.dag_id, "
    "run_id = excluded.run_id, ended_at = excluded.ended_at, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, llm_calls = excluded.llm_calls, cost = excluded.cost, "
    "request = CASE WHEN excluded.request = '' THEN aimod_outcomes.request ELSE excluded.request END, "
    "started_at = {least}(aimod_outcomes.started_at, excluded.started_at), "
    "needed_human = {greatest}(aimod_outcomes.needed_human, excluded.needed_human), map_index = excluded.map_index"
)


class EventStore(ABC):
    """Appends trace events (idempotent on ``event_id``), upserts run outcomes, answers read queries."""

    dialect: str
    least = "MIN"
    greatest = "MAX"

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._lock = threading.RLock()
        self._migrated = False

    # -- what a dialect provides -------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Any:
        """Open a new DB-API connection (not autocommit for Postgres; explicit BEGIN for SQLite)."""

    @abstractmethod
    def _lock_schema(self, conn: Any) -> None:
        """Begin a transaction holding the store-wide migration lock."""

    def _begin(self, conn: Any) -> None:
        """Begin a write transaction (Postgres begins implicitly)."""

    def _lock_key(self, conn: Any, key: int) -> None:
        """Hold the lock ``key`` until the transaction ends (SQLite: ``BEGIN IMMEDIATE`` already serialises writers)."""

    def sql(self, text: str) -> str:
        """``text`` with this dialect's placeholder."""
        return text

    @abstractmethod
    def bucket(self, expr: str, origin: float, width: float) -> str:
        """SQL for the integer bucket index of ``expr`` (seconds) from ``origin``, ``width`` seconds wide."""

    # -- public API ------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Create or upgrade the schema; safe to call from many processes at once."""
        with self._lock:
            applied = migrate(self._connection(), lock=self._lock_schema, placeholder=self.sql("?"))
            self._migrated = True
            return applied

    def append(self, events: Iterable[Mapping[str, Any]], *, scope: Mapping[str, str | None] | None = None) -> int:
        """Insert events, skipping ``event_id``s already stored; return how many were new."""
        rows = [event_row(event, scope or {}) for event in events]
        if not rows:
            return 0
        marks = ", ".join("?" for _ in EVENT_COLUMNS)
        statement = self.sql(f"INSERT INTO aimod_events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks}) "
                             "ON CONFLICT (event_id) DO NOTHING")
        with self._transaction(write=True) as conn:
            return sum(conn.execute(statement, row).rowcount for row in rows)

    def record_outcome(self, outcome: Outcome) -> None:
        """Upsert one run's outcome: a resumed run updates the row its pause wrote (keeping its start)."""
        values = outcome.row()
        marks = ", ".join("?" for _ in _OUTCOME_COLUMNS)
        merge = _OUTCOME_MERGE.format(least=self.least, greatest=self.greatest)
        statement = self.sql(f"INSERT INTO aimod_outcomes ({', '.join(_OUTCOME_COLUMNS)}) VALUES ({marks}) "
                             f"ON CONFLICT (trace_id, agent, task_id) DO UPDATE SET {merge} "
                             "WHERE excluded.ended_at >= aimod_outcomes.ended_at")
        with self._transaction(write=True) as conn:
            conn.execute(statement, tuple(values[c] for c in _OUTCOME_COLUMNS))

    def fetch(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read query (``?`` placeholders) and return its rows."""
        with self._transaction(write=False) as conn:
            return list(conn.execute(self.sql(text), tuple(params)).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction; yields the connection (``?`` placeholders through ``sql()``)."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def locked(self, key: int) -> Iterator[Any]:
        """A write transaction holding the lock ``key`` (a signed 64-bit int) across processes; yields the
        connection (``?`` placeholders through ``sql()``)."""
        with self._transaction(write=True) as conn:
            self._lock_key(conn, key)
            yield conn

    def close(self) -> None:
        """Close the connection; the store reconnects if used again."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None or getattr(self._conn, "closed", False) or getattr(self._conn, "broken", False):
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Any]:
        with self._lock:
            if not self._migrated:
                self.migrate()
            conn = self._connection()
            if write:
                self._begin(conn)
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
