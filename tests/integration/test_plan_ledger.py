"""A plan's tokens in the DAG run's ledger, on real SQLite and Postgres stores: held up front against the run's
limit, drawn by the steps (what a call did not use goes back), the rest released at the end."""

from __future__ import annotations

import threading

import pytest

from airflow_aimod.core.store import open_store
from airflow_aimod.core.store.ledger import LedgerScope, TokenLedger
from airflow_aimod.core.store.plan_ledger import PlanReservation, StepLedger
from airflow_aimod.exceptions import BudgetExceeded
from tests.pg import throwaway_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
        yield opened
        opened.close()
        return
    with throwaway_database("aimod_test_plan_ledger") as url:
        opened = open_store(url)
        yield opened
        opened.close()


def plan(store, limit: int | None = None, run: str = "run-1") -> PlanReservation:
    return PlanReservation(store, dag_id="dag", run_id=run, plan_task_id="plan", run_limit=limit)


def step(store, key: str, try_number: int = 1, run: str = "run-1") -> StepLedger:
    return StepLedger(store, LedgerScope("dag", run, key, try_number), plan=plan(store, run=run))


def run_spent(store, run: str = "run-1") -> int:
    return TokenLedger(store, LedgerScope("dag", run, "any")).run_spent()


def test_the_plan_holds_its_total_and_steps_draw_from_it_and_the_rest_is_released(store):
    book = plan(store, limit=10_000)
    book.hold(6000)
    book.hold(6000)  # a resumed or retried plan task holds it once
    assert book.held() == 6000 and run_spent(store) == 6000
    first = step(store, "step_1[-1]")
    first.reserve("nl2sql", 2500)
    assert book.held() == 3500 and run_spent(store) == 6000  # moved, not added
    first.settle("nl2sql", 2500, 900)
    assert book.held() == 5100 and run_spent(store) == 6000  # what the call did not use went back
    second = step(store, "step_2[-1]")
    with pytest.raises(BudgetExceeded, match=r"the plan's token reservation is spent: 5100 tokens left and the next "
                                             r"call of step_2\[-1\] needs up to 5200; raise plan_token_budget"):
        second.reserve("summarize", 5200)
    second.reserve("summarize", 400)
    second.settle("summarize", 400, 700)  # the backend reported more than the estimate: taken from the plan
    assert book.held() == 4400 and run_spent(store) == 900 + 700 + 4400
    assert book.release() == 4400
    assert book.held() == 0 and run_spent(store) == 1600
    assert book.release() == 0


def test_a_plan_bigger_than_what_the_run_has_left_is_refused_with_the_figures(store):
    other = TokenLedger(store, LedgerScope("dag", "run-1", "router[-1]"), run_limit=10_000)
    other.reserve("route", 3000)
    other.settle("route", 3000, 2500)
    with pytest.raises(BudgetExceeded, match=r"the plan needs 8000 tokens but run 'run-1' of 'dag' has 7500 of its "
                                             r"10000 left \(dag_run_token_budget\): lower the steps' token_budget"):
        plan(store, limit=10_000).hold(8000)
    assert plan(store).held() == 0
    plan(store, limit=10_000).hold(7500)
    with pytest.raises(BudgetExceeded, match="DAG run token budget exhausted"):  # the plan's hold counts for others
        other.reserve("route", 1)
    plan(store, limit=10_000, run="run-2").hold(10_000)  # another run has its own ledger


def test_steps_drawing_at_once_never_take_more_than_the_plan_holds(store):
    plan(store).hold(3000)
    granted, errors = [], []

    def work(n: int) -> None:
        own = open_store(store.url)  # its own connection, as another worker would have
        book = StepLedger(own, LedgerScope("dag", "run-1", f"step_{n}[-1]"), plan=plan(own))
        try:
            while True:
                try:
                    book.reserve("nl2sql", 200)
                except BudgetExceeded:
                    return
                granted.append(n)
                book.settle("nl2sql", 200, 200)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(granted) == 15 and plan(store).held() == 0 and run_spent(store) == 3000
