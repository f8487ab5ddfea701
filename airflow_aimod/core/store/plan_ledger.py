"""A plan's tokens in its DAG run's ledger: held when the plan is accepted, drawn by its steps, released at the end.

``PlanReservation.hold`` puts the plan's whole budget in the ledger as one reserved row (task key
``plan:<plan task id>``) — refused with the reason when the run has less left than that. Each step's
``StepLedger`` then moves the worst case of every LLM call from that row to its own and gives back what
the backend did not use, so the run's total never changes while the plan runs and the steps together
cannot spend more than the plan holds. ``release`` frees what is left. Every operation takes the run's
lock (``TokenLedger``), so steps running at once draw one after the other.
"""

from __future__ import annotations

from typing import Any

from airflow_aimod.core.store.ledger import RUN_SPENT, LedgerScope, TokenLedger
from airflow_aimod.exceptions import BudgetExceeded

PLAN_TASK_TYPE = "plan_reservation"
_HELD = ("SELECT COALESCE(SUM(reserved), 0) FROM aimod_token_ledger WHERE dag_id = ? AND run_id = ? AND task_key = ? "
         "AND task_type = ?")


class PlanReservation:
    """The reserved tokens of the plan made by task ``plan_task_id`` in one DAG run."""

    def __init__(self, store: Any, *, dag_id: str, run_id: str, plan_task_id: str,
                 run_limit: int | None = None) -> None:
        self.book = TokenLedger(store, LedgerScope(dag_id, run_id, f"plan:{plan_task_id}", 1), run_limit=run_limit)
        self.store, self.scope, self.run_limit = store, self.book.scope, run_limit

    def held(self, conn: Any = None) -> int:
        """Tokens the plan still holds."""
        args = (self.scope.dag_id, self.scope.run_id, self.scope.task_key, PLAN_TASK_TYPE)
        if conn is None:
            return int(self.store.fetch(_HELD, args)[0][0])
        return int(conn.execute(self.store.sql(_HELD), args).fetchone()[0])

    def hold(self, tokens: int) -> None:
        """Reserve ``tokens`` for the plan (idempotent: a resumed or retried plan task holds them once)."""
        with self.store.locked(self.scope.lock_key()) as conn:
            current = self.held(conn)
            if self.run_limit is not None:
                spent = int(conn.execute(self.store.sql(RUN_SPENT), (self.scope.dag_id, self.scope.run_id))
                            .fetchone()[0]) - current
                if spent + tokens > self.run_limit:
                    raise BudgetExceeded(
                        f"the plan needs {tokens} tokens but run {self.scope.run_id!r} of {self.scope.dag_id!r} has "
                        f"{max(self.run_limit - spent, 0)} of its {self.run_limit} left (dag_run_token_budget): lower "
                        "the steps' token_budget, drop steps, or raise the run's budget")
            self.book.add(conn, PLAN_TASK_TYPE, tokens=0, reserved=tokens - current)

    def draw(self, conn: Any, tokens: int, *, step: str) -> None:
        """Move ``tokens`` out of the plan's reservation (inside the caller's locked transaction)."""
        left = self.held(conn)
        if tokens > left:
            raise BudgetExceeded(f"the plan's token reservation is spent: {left} tokens left and the next call of "
                                 f"{step} needs up to {tokens}; raise plan_token_budget or the step's token_budget")
        self.book.add(conn, PLAN_TASK_TYPE, tokens=0, reserved=-tokens)

    def give_back(self, conn: Any, tokens: int) -> None:
        """Return ``tokens`` to the reservation (negative: take them, as far as it holds any)."""
        change = tokens if tokens >= 0 else -min(-tokens, self.held(conn))
        if change:
            self.book.add(conn, PLAN_TASK_TYPE, tokens=0, reserved=change)

    def release(self) -> int:
        """Free what the plan still holds; the tokens released."""
        with self.store.locked(self.scope.lock_key()) as conn:
            left = self.held(conn)
            if left:
                self.book.add(conn, PLAN_TASK_TYPE, tokens=0, reserved=-left)
            return left


class StepLedger(TokenLedger):
    """A plan step's ledger: each call's tokens come out of the plan's reservation; what it did not use goes back."""

    def __init__(self, store: Any, scope: LedgerScope, *, plan: PlanReservation) -> None:
        super().__init__(store, scope, run_limit=None)  # the plan's hold already counted against the run's limit
        self.plan = plan

    def reserve(self, task: str, tokens: int) -> None:
        with self.store.locked(self.scope.lock_key()) as conn:
            self.plan.draw(conn, tokens, step=self.scope.task_key)
            self.add(conn, task, tokens=0, reserved=tokens)

    def settle(self, task: str, reserved: int, used: int) -> None:
        with self.store.locked(self.scope.lock_key()) as conn:
            self.add(conn, task, tokens=used, reserved=-reserved)
            self.plan.give_back(conn, reserved - used)
