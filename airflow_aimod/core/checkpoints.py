"""LangGraph checkpointers from one URL: memory, SQLite (embedded) or Postgres (production).

``memory://`` keeps nothing after the process; ``sqlite:///abs/path.db`` is the
embedded default; ``postgresql://...`` uses langgraph-checkpoint-postgres over
psycopg 3. Savers are opened as context managers and set up (tables created) once;
Postgres set-up holds an advisory lock, because tasks starting together on a fresh
database otherwise race in the saver's migrations (duplicate key, deadlock). A resumed run
passes ``setup=False``: its pause wrote the checkpoint, so the tables exist.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_aimod.core.sqlite_wal import connect_wal
from airflow_aimod.core.urls import sqlite_path
from airflow_aimod.exceptions import ConfigurationError

SCHEMES = ("memory://", "sqlite:///", "postgresql://", "postgres://")
SETUP_LOCK = 0x61696D6F64_01  # pg_advisory_lock key serialising saver set-up ("aimod", 1)


@contextlib.contextmanager
def open_checkpointer(url: str, *, setup: bool = True) -> Iterator[Any]:
    """Yield a ready checkpointer for ``url``; close it afterwards. ``setup=False`` skips creating
    the tables (a resume: the pause created them)."""
    if url.startswith("memory://"):
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
    elif url.startswith("sqlite:///"):
        yield from _sqlite(sqlite_path(url), setup)
    elif url.startswith(("postgresql://", "postgres://")):
        yield from _postgres(url, setup)
    else:
        raise ConfigurationError(f"unsupported checkpoint URL {url!r}: use one of {', '.join(SCHEMES)}")


def _sqlite(path: Path, setup: bool) -> Iterator[Any]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = connect_wal(path, timeout_s=30.0, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        if setup:
            saver.setup()
        else:
            saver.is_setup = True  # the saver's own flag: it would otherwise run its DDL on first use
        yield saver
    finally:
        conn.close()


def _postgres(url: str, setup: bool) -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(url) as saver:  # an autocommit connection: the lock is the session's
        if not setup:
            yield saver
            return
        _lock_setup(saver.conn)
        try:
            saver.setup()
        finally:
            saver.conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield saver


def _lock_setup(conn: Any, timeout_s: float = 120.0) -> None:
    """Take the set-up lock by polling: a session blocked in ``pg_advisory_lock`` keeps a transaction
    open, and the holder's ``CREATE INDEX CONCURRENTLY`` migrations wait for it — a deadlock."""
    deadline = time.monotonic() + timeout_s
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (SETUP_LOCK,)).fetchone()["got"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"another process held the checkpoint set-up lock for {timeout_s:.0f}s")
        time.sleep(0.05)
