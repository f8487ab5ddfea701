"""Ordered, idempotent schema migrations for the AiMod store.

Each migration has a version, a name and DDL valid in both SQLite and Postgres. ``migrate``
runs inside one transaction that first takes an exclusive lock (``BEGIN IMMEDIATE`` in SQLite,
an advisory transaction lock in Postgres), so two processes starting at once apply each
migration exactly once: the second waits, then finds everything applied. Add a migration by
appending to ``MIGRATIONS``; never edit one that has shipped.

Every step is safe to run again, not only guarded by the version table (a store restored without it,
a column added by hand): tables and indexes use ``IF NOT EXISTS``, and a new column is an ``AddColumn``
step, added only when the table does not have it yet (SQLite has no ``ADD COLUMN IF NOT EXISTS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

VERSION_TABLE = "aimod_schema_version"
PG_LOCK_KEY = 7_305_441_215  # arbitrary, stable: "aimod schema" advisory lock


@dataclass(frozen=True)
class AddColumn:
    """``ALTER TABLE table ADD COLUMN column definition``, run only when ``table`` lacks ``column``."""

    table: str
    column: str
    definition: str

    def apply(self, conn: Any) -> None:
        names = {d[0].lower() for d in conn.execute(f"SELECT * FROM {self.table} LIMIT 0").description}
        if self.column.lower() not in names:
            conn.execute(f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.definition}")


@dataclass(frozen=True)
class Migration:
    """One schema step: ``statements`` (SQL, or ``AddColumn``) run in order, each safe to run again."""

    version: int
    name: str
    statements: tuple[str | AddColumn, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events and outcomes", (
        """CREATE TABLE IF NOT EXISTS aimod_events (
            event_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
            name TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, dag_id TEXT, run_id TEXT, task_id TEXT,
            model TEXT, input_tokens INTEGER, output_tokens INTEGER, latency_ms DOUBLE PRECISION,
            detail TEXT, data TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS aimod_outcomes (
            trace_id TEXT NOT NULL, agent TEXT NOT NULL, task_id TEXT NOT NULL DEFAULT '',
            dag_id TEXT NOT NULL DEFAULT '', run_id TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '',
            started_at DOUBLE PRECISION NOT NULL, ended_at DOUBLE PRECISION NOT NULL,
            input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
            llm_calls INTEGER NOT NULL DEFAULT 0, needed_human INTEGER NOT NULL DEFAULT 0,
            cost DOUBLE PRECISION NOT NULL DEFAULT 0, PRIMARY KEY (trace_id, agent, task_id))""",
    )),
    Migration(2, "dashboard indexes", (
        "CREATE INDEX IF NOT EXISTS aimod_events_trace_ts ON aimod_events (trace_id, ts)",
        "CREATE INDEX IF NOT EXISTS aimod_events_kind_ts ON aimod_events (kind, ts)",
        "CREATE INDEX IF NOT EXISTS aimod_outcomes_ended ON aimod_outcomes (ended_at)",
        "CREATE INDEX IF NOT EXISTS aimod_outcomes_agent_ended ON aimod_outcomes (agent, ended_at)",
        "CREATE INDEX IF NOT EXISTS aimod_outcomes_status_ended ON aimod_outcomes (status, ended_at)",
    )),
    Migration(3, "token ledger", (
        """CREATE TABLE IF NOT EXISTS aimod_token_ledger (
            dag_id TEXT NOT NULL, run_id TEXT NOT NULL, task_key TEXT NOT NULL, try_number INTEGER NOT NULL,
            task_type TEXT NOT NULL, tokens BIGINT NOT NULL DEFAULT 0, reserved BIGINT NOT NULL DEFAULT 0,
            updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (dag_id, run_id, task_key, try_number, task_type))""",
    )),
    Migration(4, "outcome request text", (
        AddColumn("aimod_outcomes", "request", "TEXT NOT NULL DEFAULT ''"),
        "CREATE INDEX IF NOT EXISTS aimod_outcomes_run ON aimod_outcomes (run_id)",
    )),
    Migration(5, "verified examples", (
        """CREATE TABLE IF NOT EXISTS aimod_examples (
            example_id TEXT PRIMARY KEY, agent TEXT NOT NULL, conn_id TEXT NOT NULL DEFAULT '',
            schema_fingerprint TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, answer TEXT NOT NULL,
            source TEXT NOT NULL, verified_by TEXT NOT NULL, verified_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS aimod_examples_scope ON aimod_examples (agent, conn_id, verified_at)",
    )),
    Migration(6, "alert state", (
        """CREATE TABLE IF NOT EXISTS aimod_alerts (
            fingerprint TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
            severity TEXT NOT NULL, group_key TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '', first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL,
            first_sent DOUBLE PRECISION, last_sent DOUBLE PRECISION, occurrences BIGINT NOT NULL DEFAULT 0,
            suppressed BIGINT NOT NULL DEFAULT 0, pending_digest INTEGER NOT NULL DEFAULT 0,
            acked_at DOUBLE PRECISION, acked_by TEXT, escalated_at DOUBLE PRECISION)""",
        "CREATE INDEX IF NOT EXISTS aimod_alerts_status_severity ON aimod_alerts (status, severity)",
    )),
    Migration(7, "retention indexes", (
        "CREATE INDEX IF NOT EXISTS aimod_events_ts ON aimod_events (ts)",
        "CREATE INDEX IF NOT EXISTS aimod_token_ledger_updated ON aimod_token_ledger (updated_at)",
    )),
    Migration(8, "examples by time", (
        "CREATE INDEX IF NOT EXISTS aimod_examples_agent_time ON aimod_examples (agent, verified_at)",
    )),
    Migration(9, "mapped task instances", (
        AddColumn("aimod_outcomes", "map_index", "INTEGER NOT NULL DEFAULT -1"),
    )),
)

LATEST = MIGRATIONS[-1].version


def migrate(conn: Any, *, lock: Callable[[Any], None], placeholder: str = "?",
            migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the missing migrations on ``conn`` (not autocommit) under ``lock``; return the versions applied."""
    _check_order(migrations)
    lock(conn)
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
        done = {row[0] for row in conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchall()}
        _refuse_newer(done, migrations)
        applied = [m.version for m in migrations if m.version not in done]
        for migration in (m for m in migrations if m.version not in done):
            _apply(conn, migration, placeholder)
        conn.commit()
        return applied
    except BaseException:
        conn.rollback()
        raise


def _apply(conn: Any, migration: Migration, placeholder: str) -> None:
    for statement in migration.statements:
        if isinstance(statement, AddColumn):
            statement.apply(conn)
        else:
            conn.execute(statement)
    conn.execute(f"INSERT INTO {VERSION_TABLE} (version, name, applied_at) VALUES "
                 f"({placeholder}, {placeholder}, {placeholder})", (migration.version, migration.name, time.time()))


def _check_order(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions or versions[0] < 1:
        raise ValueError(f"migrations must have strictly increasing versions from 1, got {versions}")


def _refuse_newer(done: set[int], migrations: tuple[Migration, ...]) -> None:
    known = {m.version for m in migrations}
    if unknown := sorted(done - known):
        raise ConfigurationError(f"the AiMod store has schema versions {unknown} this airflow-aimod does not know: "
                                 "upgrade airflow-aimod on this machine, or point [aimod] store_url at another store")
