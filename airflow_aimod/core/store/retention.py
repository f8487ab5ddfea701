"""``StoreRetention``: delete what the AiMod store holds beyond its retention, in small batches.

Events older than the cut-off (``ts``), finished outcomes that ended before it (a run still waiting
for a person or still running is kept, whatever its age) and token-ledger rows not touched since
go, ``batch`` rows per transaction: each batch is one short indexed ``DELETE`` that commits before
the next starts, so tasks writing events meanwhile wait at most one batch (SQLite, whose writers
take turns) or not at all (Postgres, where a delete locks only the rows it deletes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_aimod.core.store.base import EventStore

DAY = 86400.0
UNFINISHED = ("needs_approval", "running")

# table -> (key columns, the condition a row must meet to go); every condition is served by an index
_TARGETS: dict[str, tuple[str, str]] = {
    "aimod_events": ("event_id", "ts < ?"),
    "aimod_outcomes": ("trace_id, agent, task_id",
                       f"ended_at < ? AND status NOT IN ({', '.join(repr(s) for s in UNFINISHED)})"),
    "aimod_token_ledger": ("dag_id, run_id, task_key, try_number, task_type", "updated_at < ?"),
}


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep ``days`` days (> 0); delete ``batch`` rows (1..100000) per transaction."""

    days: float
    batch: int = 5000

    def __post_init__(self) -> None:
        if not isinstance(self.days, (int, float)) or isinstance(self.days, bool) or self.days <= 0:
            raise ValueError(f"store retention must be a positive number of days, got {self.days!r}")
        if not isinstance(self.batch, int) or not 1 <= self.batch <= 100_000:
            raise ValueError(f"the purge batch must be between 1 and 100000 rows, got {self.batch!r}")

    def cutoff(self, now: float) -> float:
        """Epoch seconds before which rows go."""
        return now - self.days * DAY


class StoreRetention:
    """Purges one store by ``policy``; ``on_batch(table, deleted)`` is called after each committed batch."""

    def __init__(self, store: EventStore, policy: RetentionPolicy,
                 on_batch: Callable[[str, int], None] | None = None) -> None:
        self.store = store
        self.policy = policy
        self.on_batch = on_batch

    def purge(self, *, now: float | None = None) -> dict[str, int]:
        """Delete every expired row, batch by batch; rows deleted per table."""
        cutoff = self.policy.cutoff(time.time() if now is None else now)
        return {table: self._purge_table(table, cutoff) for table in _TARGETS}

    def _purge_table(self, table: str, cutoff: float) -> int:
        keys, condition = _TARGETS[table]
        statement = self.store.sql(f"DELETE FROM {table} WHERE ({keys}) IN "
                                   f"(SELECT {keys} FROM {table} WHERE {condition} LIMIT ?)")
        total = 0
        while True:
            with self.store.transaction() as conn:
                deleted = conn.execute(statement, (cutoff, self.policy.batch)).rowcount
            total += max(deleted, 0)
            if self.on_batch is not None and deleted > 0:
                self.on_batch(table, deleted)
            if deleted < self.policy.batch:
                return total
