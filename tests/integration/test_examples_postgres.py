"""The example store on Postgres: same behaviour as on SQLite, under concurrent writers."""

from __future__ import annotations

import threading

import pytest

from airflow_aimod.core.examples import Example, ExampleStore
from airflow_aimod.core.store import open_store
from airflow_aimod.exceptions import ConfigurationError
from tests.pg import throwaway_database


def test_examples_on_postgres_dedupe_cap_and_survive_concurrent_adds():
    with throwaway_database("aimod_examples") as url:
        store = ExampleStore(open_store(url), cap=10)
        errors: list[BaseException] = []

        def add(i: int) -> None:
            try:
                ExampleStore(open_store(url), cap=10).add(Example(
                    agent="sql_agent", conn_id="wh", question=f"how many rows in batch {i}",
                    answer=f"SELECT {i}", verified_by="ana"))
            except ConfigurationError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(i,)) for i in range(14)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(store.list(agent="sql_agent", conn_id="wh")) == 10 and len(errors) == 4
        first = store.list()[0]
        assert store.remove(first.example_id)
        assert store.add(Example(agent="sql_agent", conn_id="wh", question=first.question.upper(),
                                 answer="SELECT 0", verified_by="bo")) == first.example_id
        with pytest.raises(ConfigurationError, match="cap 10"):
            store.add(Example(agent="sql_agent", conn_id="wh", question="one too many", answer="SELECT 1",
                              verified_by="bo"))
