"""PostgresReadOnlyExecutor against a real server: writes are refused by the database itself.

Every refusal is checked twice: the call fails, and the data is unchanged when looked
at through a separate read-write connection. After every failure the pool must be
healthy: a follow-up query works, every connection is back and idle, none is left in
a transaction on the server.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import psycopg
import pytest

from airflow_aimod.core.executors.base import ReadOnlyExecutor
from airflow_aimod.core.executors.postgres import PostgresReadOnlyExecutor
from airflow_aimod.exceptions import AgentTimeout, QueryExecutionError
from tests.pg import throwaway_database

pytestmark = pytest.mark.postgres

APP = "airflow-aimod-readonly"
SCHEMA = """
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
CREATE TABLE customers (
    customer_id integer PRIMARY KEY, name text NOT NULL, email text, country text, segment varchar(20));
CREATE TABLE orders (
    order_id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (customer_id),
    status order_status NOT NULL, total numeric(10, 2), ordered_at date);
CREATE TABLE t (id integer PRIMARY KEY, name text);
CREATE TABLE kinds (
    n numeric, nan numeric, d date, ts timestamptz, u uuid, j jsonb, b bytea, iv interval, f float8, flag boolean);
CREATE SCHEMA sales;
CREATE TABLE sales.invoices (
    invoice_id integer PRIMARY KEY, order_id integer REFERENCES public.orders (order_id), amount numeric);
CREATE TABLE sales.lines (
    invoice_id integer, line_no integer, sku text, PRIMARY KEY (invoice_id, line_no),
    FOREIGN KEY (invoice_id) REFERENCES sales.invoices (invoice_id));
CREATE VIEW big_customers AS SELECT * FROM customers WHERE segment = 'enterprise';
CREATE SEQUENCE seq;
CREATE FUNCTION wipe() RETURNS integer LANGUAGE sql AS 'DELETE FROM t RETURNING 1';

INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com',
    (ARRAY['DE', 'FR', 'US'])[1 + g % 3], (ARRAY['smb', 'enterprise'])[1 + g % 2] FROM generate_series(1, 60) g;
INSERT INTO orders SELECT g, 1 + g % 60, (ARRAY['pending', 'paid', 'shipped'])[1 + g % 3]::order_status,
    g * 1.5, date '2024-01-01' + g FROM generate_series(1, 300) g;
INSERT INTO t SELECT g, (ARRAY['apple', 'avocado', 'banana', 'b%c'])[1 + g % 4] FROM generate_series(1, 20) g;
INSERT INTO kinds VALUES (12.50, 'NaN', '2024-02-29', '2024-03-01 12:30:00+00',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2.5, null], "s": "x"}', '\\x00ff10', '1 day 02:00:00',
    'Infinity', true);
INSERT INTO sales.invoices SELECT g, g, g * 1.5 FROM generate_series(1, 10) g;
ANALYZE;
"""


@pytest.fixture(scope="module")
def database() -> str:
    with throwaway_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        yield url


@pytest.fixture
def executor(database):
    ex = PostgresReadOnlyExecutor(database, pool_min=1, pool_max=4)
    yield ex
    ex.close()


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def server_sessions(url: str) -> list[tuple[str, str]]:
    """(state, backend_xid-or-empty) of the executor's sessions, seen from the server."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT state, coalesce(backend_xid::text, '') FROM pg_stat_activity "
                            "WHERE datname = current_database() AND application_name = %s", (APP,)).fetchall()


def assert_healthy(ex: PostgresReadOnlyExecutor, url: str, *, lost: int = 0) -> dict:
    """A follow-up query works; every connection is back in the pool, idle, outside any transaction."""
    assert ex.run("SELECT 41 + 1 AS answer").rows == ((42,),)
    deadline = time.monotonic() + 5
    while True:
        stats = ex.stats()
        back = stats["pool_available"] == stats["pool_size"] and stats.get("requests_waiting", 0) == 0
        sessions = server_sessions(url)
        if back and all(state == "idle" for state, _ in sessions) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert back, stats
    assert stats["pool_size"] <= ex.pool_max
    assert stats.get("returns_bad", 0) == 0 and stats.get("connections_lost", 0) == lost, stats
    assert len(sessions) == stats["pool_size"] and all(s == ("idle", "") for s in sessions), sessions
    return stats


def test_is_a_read_only_executor_and_context_manager(database):
    with PostgresReadOnlyExecutor(database) as ex:
        assert isinstance(ex, ReadOnlyExecutor)
        assert ex.dialect == "postgres"
        assert ex.run("SELECT current_setting('transaction_read_only') AS ro").rows == (("on",),)
    with pytest.raises(QueryExecutionError, match="closed"):
        ex.run("SELECT 1")


@pytest.mark.parametrize("sql", ["SELECT 1; DELETE FROM t", "SELECT 1; COMMIT; DELETE FROM t",
                                 "SELECT 1; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
                                 "DELETE FROM t"])
def test_stacked_statements_are_refused_by_the_server(executor, database, sql):
    with pytest.raises(QueryExecutionError, match="multiple commands"):
        executor.run(sql)
    assert count(database, "t") == 20
    assert_healthy(executor, database)


def test_data_modifying_cte_is_refused(executor, database):
    with pytest.raises(QueryExecutionError, match="data-modifying"):
        executor.run("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")
    assert count(database, "t") == 20
    assert_healthy(executor, database)


@pytest.mark.parametrize("sql, message", [
    ("SELECT wipe()", "cannot execute DELETE in a read-only transaction"),
    ("SELECT nextval('seq')", "cannot execute nextval\\(\\) in a read-only transaction"),
    ("SELECT set_config('transaction_read_only', 'off', false)", "read-write mode must be set before any query"),
])
def test_the_read_only_transaction_refuses_writes_hidden_in_a_select(executor, database, sql, message):
    with pytest.raises(QueryExecutionError, match=message):
        executor.run(sql)
    assert count(database, "t") == 20
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT last_value, is_called FROM seq").fetchone() == (1, False)
    assert_healthy(executor, database)


def test_select_into_creates_nothing(executor, database):
    with pytest.raises(QueryExecutionError, match="INTO"):
        executor.run("SELECT * INTO t2 FROM t")
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('public.t2')").fetchone() == (None,)
    assert_healthy(executor, database)


def test_timeout_cancels_the_query_at_the_deadline(executor, database):
    started = time.monotonic()
    with pytest.raises(AgentTimeout, match="0.5 s deadline"):
        executor.run("SELECT pg_sleep(5)", timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed  # cancelled well before the 5 s sleep ends
    assert_healthy(executor, database)


def test_statement_timeout_s_caps_every_query(database):
    with PostgresReadOnlyExecutor(database, statement_timeout_s=0.3) as ex:
        started = time.monotonic()
        with pytest.raises(AgentTimeout):
            ex.run("SELECT pg_sleep(5)", timeout_s=60)
        assert time.monotonic() - started < 2
        assert_healthy(ex, database)


def test_errors_carry_the_database_message_and_leave_the_pool_healthy(executor, database):
    with pytest.raises(QueryExecutionError, match='column "nope" does not exist'):
        executor.run("SELECT nope FROM t")
    with pytest.raises(QueryExecutionError, match="division by zero"):
        executor.run("SELECT 1 / 0")
    assert_healthy(executor, database)


def test_session_level_advisory_locks_do_not_outlive_the_query(executor, database):
    executor.run("SELECT pg_advisory_lock(4242)")
    assert_healthy(executor, database)
    with psycopg.connect(database) as conn:
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242").fetchone()
    assert held == (0,)


def test_a_connection_killed_by_the_server_is_replaced(executor, database):
    executor.run("SELECT 1")
    with psycopg.connect(database, autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND application_name = %s", (APP,)).fetchone()
    assert killed[0] >= 1
    assert executor.run("SELECT 2 AS two").rows == ((2,),)  # the pool's check found the dead one
    assert_healthy(executor, database, lost=killed[0])


def test_percent_signs_are_not_placeholders(executor):
    result = executor.run("SELECT name FROM t WHERE name LIKE 'a%' GROUP BY name ORDER BY name")
    assert result.rows == (("apple",), ("avocado",))
    assert executor.run("SELECT count(*) FROM t WHERE name LIKE 'b\\%%' ESCAPE '\\'").rows == ((5,),)
    assert executor.run("SELECT '%s %(x)s {}' AS s").rows == (("%s %(x)s {}",),)


def test_row_cap_fetches_only_what_it_returns(executor):
    started = time.monotonic()
    result = executor.run("SELECT g FROM generate_series(1, 5000000) g", max_rows=10)
    assert time.monotonic() - started < 5
    assert result.rows == tuple((i,) for i in range(1, 11)) and result.truncated
    exact = executor.run("SELECT g FROM generate_series(1, 10) g", max_rows=10)
    assert exact.row_count == 10 and not exact.truncated
    capped = executor.run("SELECT 1 AS one", max_rows=0).to_dict()
    assert {k: capped[k] for k in ("columns", "rows", "truncated", "row_count")} == {
        "columns": ["one"], "rows": [], "truncated": True, "row_count": 0}


def test_empty_results_keep_their_column_names(executor):
    result = executor.run("SELECT customer_id, name FROM customers WHERE false")
    assert result.columns == ("customer_id", "name") and result.rows == () and not result.truncated


def test_values_are_json_safe(executor):
    result = executor.run("SELECT * FROM kinds")
    row = dict(zip(result.columns, result.rows[0]))
    assert row == {
        "n": 12.5, "nan": "NaN", "d": "2024-02-29", "ts": row["ts"],
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": {"k": [1, 2.5, None], "s": "x"}, "b": "00ff10",
        "iv": "1 day, 2:00:00", "f": "inf", "flag": True,
    }
    assert dt.datetime.fromisoformat(row["ts"]) == dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["rows"][0][0] == 12.5
    assert isinstance(executor.run("SELECT 1.25::numeric AS x").rows[0][0], float)
    assert not isinstance(executor.run("SELECT 1.25::numeric AS x").rows[0][0], Decimal)


def test_catalog_lists_tables_keys_row_estimates_and_enum_values(database):
    with PostgresReadOnlyExecutor(database, schemas=("public", "sales")) as ex:
        catalog = ex.catalog()
    assert catalog.dialect == "postgres"
    assert [t.qualified_name for t in catalog.tables] == [
        "public.big_customers", "public.customers", "public.kinds", "public.orders", "public.t",
        "sales.invoices", "sales.lines"]
    orders = catalog.table("orders")
    assert [(c.name, c.type, c.nullable, c.primary_key) for c in orders.columns] == [
        ("order_id", "integer", False, True), ("customer_id", "integer", False, False),
        ("status", "order_status", False, False), ("total", "numeric(10,2)", True, False),
        ("ordered_at", "date", True, False)]
    assert orders.column("status").samples == ("pending", "paid", "shipped", "cancelled")
    assert [(f.column, f.ref_table, f.ref_column) for f in orders.foreign_keys] == [
        ("customer_id", "customers", "customer_id")]
    assert orders.row_count == 300 and catalog.table("customers").row_count == 60
    assert catalog.table("big_customers").row_count is None
    invoices, lines = catalog.table("sales.invoices"), catalog.table("sales.lines")
    assert invoices.foreign_keys[0].ref_table == "public.orders"
    assert lines.foreign_keys[0].ref_table == "invoices"
    assert [c.name for c in lines.columns if c.primary_key] == ["invoice_id", "line_no"]


def test_catalog_schemas_default_to_public_and_none_means_all(database):
    with PostgresReadOnlyExecutor(database) as ex:
        assert {t.schema for t in ex.catalog().tables} == {"public"}
    with PostgresReadOnlyExecutor(database, schemas=None) as ex:
        assert {t.schema for t in ex.catalog().tables} == {"public", "sales"}


def test_with_samples_fills_low_cardinality_text_but_never_personal_data(executor):
    catalog = executor.catalog()
    sampled = executor.with_samples(catalog.subset(["customers", "t"]), max_distinct=5)
    customers = sampled.table("customers")
    assert customers.column("country").samples == ("DE", "FR", "US")
    assert customers.column("segment").samples == ("enterprise", "smb")
    assert customers.column("email").samples == () and customers.column("email").distinct_count == 60
    assert customers.column("name").samples == () and customers.column("name").distinct_count == 60
    assert customers.column("customer_id").distinct_count is None
    assert sorted(sampled.table("t").column("name").samples) == ["apple", "avocado", "b%c", "banana"]


def test_with_samples_stops_quietly_at_its_deadline(executor, database):
    catalog = executor.catalog().subset(["customers"])
    assert executor.with_samples(catalog, timeout_s=1e-6) == catalog
    assert_healthy(executor, database)


def test_concurrent_queries_share_the_pool(database):
    errors: list[BaseException] = []
    results: list[int] = []
    with PostgresReadOnlyExecutor(database, pool_min=1, pool_max=4) as ex:

        def worker(n: int) -> None:
            try:
                for i in range(5):
                    rows = ex.run(f"SELECT {n * 10 + i} AS v, pg_sleep(0.02), count(*) FROM orders").rows
                    results.append(rows[0][0])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(results) == sorted(n * 10 + i for n in range(8) for i in range(5))
        stats = assert_healthy(ex, database)
        assert stats["pool_size"] <= 4 and stats["requests_num"] >= 41


def test_from_params_and_unreachable_servers(database):
    name = database.rsplit("/", 1)[1]
    with PostgresReadOnlyExecutor.from_params(host="127.0.0.1", port=5432, user="postgres", password=None,
                                              dbname=name, pool_max=2, sslmode="disable") as ex:
        assert ex.pool_max == 2 and ex.run("SELECT current_database()").rows == ((name,),)
    started = time.monotonic()
    with PostgresReadOnlyExecutor("postgresql://postgres@127.0.0.1:1/x", connect_timeout_s=1) as ex:
        with pytest.raises(QueryExecutionError, match="cannot connect to PostgreSQL as postgres@127.0.0.1:1/x"):
            ex.run("SELECT 1")
    assert time.monotonic() - started < 5
