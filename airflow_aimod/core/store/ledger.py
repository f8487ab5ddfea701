"""``TokenLedger``: tokens spent by the agent tasks of one DAG run, in the AiMod store.

One row per (DAG run, task instance, try, task type) holds the tokens the backend
reported (``tokens``) and those held for calls under way (``reserved``). A call first
reserves its worst case inside a transaction that holds a per-run lock (SQLite:
``BEGIN IMMEDIATE``; Postgres: an advisory transaction lock on the run), so two tasks
of one run reserving at once cannot pass the run's limit together. After the call the
reservation is settled to what was reported. A try that died mid-call leaves its
reservation counted: a retry then starts from at least what its earlier tries could
have spent, so retries cannot multiply the budget.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from airflow_aimod.exceptions import BudgetExceeded, ConfigurationError

_SPENT = "COALESCE(SUM(tokens + reserved), 0)"
RUN_SPENT = f"SELECT {_SPENT} FROM aimod_token_ledger WHERE dag_id = ? AND run_id = ?"


@dataclass(frozen=True)
class LedgerScope:
    """Where tokens are spent: a DAG run, one task instance (``task_key``) and its try."""

    dag_id: str
    run_id: str
    task_key: str
    try_number: int = 1

    def __post_init__(self) -> None:
        if not self.dag_id or not self.run_id or not self.task_key or self.try_number < 1:
            raise ConfigurationError("a token ledger needs a dag_id, a run_id, a task key and a try number >= 1")

    def lock_key(self) -> int:
        """A stable signed 64-bit key for the run (Postgres advisory lock)."""
        raw = hashlib.blake2b(f"{self.dag_id}\0{self.run_id}".encode(), digest_size=8).digest()
        return int.from_bytes(raw, "big", signed=True)


class TokenLedger:
    """The shared budget of one DAG run (``run_limit`` tokens, or unlimited), as one task sees it."""

    def __init__(self, store: Any, scope: LedgerScope, *, run_limit: int | None = None) -> None:
        if run_limit is not None and (isinstance(run_limit, bool) or not isinstance(run_limit, int) or run_limit <= 0):
            raise ConfigurationError(f"dag_run_token_budget must be a positive number of tokens, got {run_limit!r}")
        self.store, self.scope, self.run_limit = store, scope, run_limit

    # -- reads -------------------------------------------------------------------------------
    def run_spent(self) -> int:
        """Tokens spent or held by every task of the run, every try."""
        return int(self.store.fetch(RUN_SPENT, (self.scope.dag_id, self.scope.run_id))[0][0])

    def earlier_tries(self) -> dict[str, int]:
        """Task type → tokens this task instance's earlier tries spent (or held when they died)."""
        s = self.scope
        rows = self.store.fetch(
            f"SELECT task_type, {_SPENT} FROM aimod_token_ledger WHERE dag_id = ? AND run_id = ? AND task_key = ? "
            "AND try_number < ? GROUP BY task_type", (s.dag_id, s.run_id, s.task_key, s.try_number))
        return {str(task): int(tokens) for task, tokens in rows if int(tokens)}

    # -- SharedLedger ------------------------------------------------------------------------
    def reserve(self, task: str, tokens: int) -> None:
        """Hold ``tokens`` for one call of ``task``; BudgetExceeded when the run's limit would be passed."""
        with self.store.locked(self.scope.lock_key()) as conn:
            if self.run_limit is not None:
                run = (self.scope.dag_id, self.scope.run_id)
                spent = int(conn.execute(self.store.sql(RUN_SPENT), run).fetchone()[0])
                if spent + tokens > self.run_limit:
                    raise BudgetExceeded(
                        f"DAG run token budget exhausted: the agent tasks of run {self.scope.run_id!r} of "
                        f"{self.scope.dag_id!r} spent or hold {spent} of {self.run_limit} tokens and the next call "
                        f"needs up to {tokens}; raise dag_run_token_budget or shorten the requests")
            self.add(conn, task, tokens=0, reserved=tokens)

    def settle(self, task: str, reserved: int, used: int) -> None:
        """Turn a reservation of ``reserved`` tokens into the ``used`` ones the backend reported."""
        with self.store.locked(self.scope.lock_key()) as conn:
            self.add(conn, task, tokens=used, reserved=-reserved)

    # -- plumbing ----------------------------------------------------------------------------
    def add(self, conn: Any, task: str, *, tokens: int, reserved: int) -> None:
        """Add ``tokens`` spent and ``reserved`` held to this task's row, inside the caller's locked transaction."""
        s = self.scope
        conn.execute(self.store.sql(
            "INSERT INTO aimod_token_ledger (dag_id, run_id, task_key, try_number, task_type, tokens, reserved, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dag_id, run_id, task_key, try_number, task_type) "
            "DO UPDATE SET tokens = aimod_token_ledger.tokens + excluded.tokens, "
            "reserved = aimod_token_ledger.reserved + excluded.reserved, updated_at = excluded.updated_at"),
            (s.dag_id, s.run_id, s.task_key, s.try_number, task, tokens, reserved, time.time()))
