"""The daily series an anomaly step checks when its request names a table: derived from the schema, never guessed."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_aimod.core.anomaly.metric import daily_metric
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.exceptions import ConfigurationError


@pytest.fixture
def executor(tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE payments (id INTEGER PRIMARY KEY, paid_at DATE, amount NUMERIC, account_id INTEGER);"
            "INSERT INTO payments VALUES (1, '2024-01-01', 10, 1), (2, '2024-01-01', 5, 2), (3, '2024-01-02', 7, 1);")
    opened = SqliteReadOnlyExecutor(path)
    yield opened
    opened.close()


def test_rows_per_day_of_the_named_table_or_the_named_column_summed(executor):
    catalog = executor.catalog()
    rows = daily_metric(catalog, "check the payments table for spikes")
    assert rows.name == "payments rows per day"
    assert list(executor.run(rows.sql).rows) == [("2024-01-01", 2), ("2024-01-02", 1)]
    amount = daily_metric(catalog, "detect outliers in the daily amount of payments")
    assert amount.name == "payments.amount per day"
    assert list(executor.run(amount.sql).rows) == [("2024-01-01", 15), ("2024-01-02", 7)]


def test_ambiguous_or_missing_inputs_are_refused_with_what_to_say():
    two_dates = Catalog("sqlite", (Table("trips", (Column("id", "INTEGER", primary_key=True),
                                                    Column("started_at", "TIMESTAMP"), Column("ended_at", "TIMESTAMP"))),))
    with pytest.raises(ConfigurationError, match=r"several date columns \(started_at, ended_at\): name one"):
        daily_metric(two_dates, "check trips for anomalies")
    assert "started_at" in daily_metric(two_dates, "check trips per started_at for anomalies").sql
    no_date = Catalog("sqlite", (Table("tags", (Column("id", "INTEGER"), Column("name", "TEXT"))),))
    with pytest.raises(ConfigurationError, match="no date column.*ask the SQL agent for the series first"):
        daily_metric(no_date, "check tags for anomalies")
    with pytest.raises(ConfigurationError, match="no series to check"):
        daily_metric(no_date, "check the weather for anomalies")
    pg = Catalog("postgres", (Table("events", (Column("id", "INTEGER"), Column("created_at", "timestamp")),
                                    schema="app"),))
    assert daily_metric(pg, "check events for spikes").sql.startswith(
        'SELECT CAST("created_at" AS DATE) AS day, COUNT(*) AS value FROM "app"."events"')
