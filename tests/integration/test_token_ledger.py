"""The DAG-run token ledger on real SQLite and Postgres stores: shared limit, retries, concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_aimod.core.store import open_store
from airflow_aimod.core.store.ledger import LedgerScope, TokenLedger
from airflow_aimod.exceptions import BudgetExceeded, ConfigurationError
from tests.pg import throwaway_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    with throwaway_database("aimod_test_ledger") as url:
        yield url


def ledger(url: str, task: str = "ask[-1]", try_number: int = 1, limit: int | None = None,
           run: str = "run-1") -> TokenLedger:
    return TokenLedger(open_store(url), LedgerScope("dag", run, task, try_number), run_limit=limit)


def test_reservations_settle_to_what_was_reported(store_url):
    book = ledger(store_url, limit=1000)
    book.reserve("nl2sql", 600)
    assert book.run_spent() == 600  # held while the call is under way
    book.settle("nl2sql", 600, 130)
    assert book.run_spent() == 130
    with pytest.raises(BudgetExceeded, match=r"DAG run token budget exhausted: the agent tasks of run 'run-1' of "
                                             r"'dag' spent or hold 130 of 1000 tokens and the next call needs up "
                                             r"to 871; raise dag_run_token_budget"):
        book.reserve("nl2sql", 871)
    book.reserve("route", 870)
    assert book.run_spent() == 1000


def test_tasks_of_one_run_share_the_limit_and_other_runs_do_not_count(store_url):
    first, second = ledger(store_url, "a[-1]", limit=500), ledger(store_url, "b[-1]", limit=500)
    first.reserve("nl2sql", 300)
    first.settle("nl2sql", 300, 300)
    other_run = ledger(store_url, "a[-1]", limit=500, run="run-2")
    other_run.reserve("nl2sql", 500)
    with pytest.raises(BudgetExceeded, match="spent or hold 300 of 500"):
        second.reserve("nl2sql", 201)
    second.reserve("nl2sql", 200)


def test_a_retry_sees_what_its_earlier_tries_spent_or_still_hold(store_url):
    try1 = ledger(store_url, try_number=1)
    try1.reserve("nl2sql", 400)
    try1.settle("nl2sql", 400, 350)
    try1.reserve("route", 90)
    try1.settle("route", 90, 40)
    try2 = ledger(store_url, try_number=2)
    try2.reserve("nl2sql", 700)  # the worker died mid-call: the reservation stays counted
    assert ledger(store_url, try_number=2).earlier_tries() == {"nl2sql": 350, "route": 40}
    assert ledger(store_url, try_number=3).earlier_tries() == {"nl2sql": 1050, "route": 40}
    assert ledger(store_url, "other[-1]", try_number=3).earlier_tries() == {}
    assert ledger(store_url, try_number=1).earlier_tries() == {}


def test_concurrent_tasks_of_one_run_never_pass_the_limit_together(store_url):
    limit, reserve, used, workers = 6000, 300, 250, 4
    granted: list[int] = []
    errors: list[BaseException] = []
    all_holding = threading.Barrier(workers, timeout=60)  # every task holds a reservation at once, then races

    def work(n: int) -> None:
        book = ledger(store_url, f"task{n}[-1]", limit=limit)  # its own store: its own connection
        try:
            first = True
            while True:
                try:
                    book.reserve("nl2sql", reserve)
                except BudgetExceeded:
                    return
                granted.append(n)
                if first:  # 4 x 300 fit in 6000 whatever the thread scheduling: no task is starved
                    all_holding.wait()
                    first = False
                time.sleep(0.002)  # the call is under way, the reservation held
                book.settle("nl2sql", reserve, used)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            all_holding.abort()
        finally:
            book.store.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive(), f"a ledger thread was still running after 120 s; granted so far: {granted}"
    assert not errors, errors
    book = ledger(store_url)
    assert book.run_spent() == len(granted) * used <= limit
    rows = book.store.fetch("SELECT SUM(reserved), COUNT(DISTINCT task_key) FROM aimod_token_ledger")
    assert rows == [(0, workers)]
    # at the last refusal every other task had already stopped, so nothing else was held: it was refused
    # because one more call could really have passed the limit
    assert book.run_spent() + reserve > limit


def test_bad_scopes_and_limits_are_refused():
    with pytest.raises(ConfigurationError, match="dag_run_token_budget must be a positive number of tokens"):
        TokenLedger(None, LedgerScope("d", "r", "t"), run_limit=0)
    with pytest.raises(ConfigurationError, match="needs a dag_id, a run_id"):
        LedgerScope("d", "", "t")
