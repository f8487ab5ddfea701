"""Open a SQLite file in WAL mode safely when several processes open it for the first time at once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any


def connect_wal(path: Path, *, timeout_s: float = 30.0, **connect_kwargs: Any) -> sqlite3.Connection:
    """Connect to ``path`` and switch it to WAL, retrying while another process holds the switch lock.

    Changing the journal mode needs an exclusive lock and SQLite may answer "database is locked" at
    once instead of waiting for the busy timeout, so concurrent first opens retry until ``timeout_s``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=timeout_s, **connect_kwargs)
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                conn.close()
                raise
            if time.monotonic() + delay > deadline:
                conn.close()
                raise sqlite3.OperationalError(
                    f"{path} stayed locked for {timeout_s:.0f} s while switching to WAL mode: "
                    "another process holds it; retry, or raise the busy timeout") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
