"""SqliteReadOnlyExecutor: the file cannot change, whatever SQL reaches it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from airflow_aimod.core.executors.base import QueryResult, ReadOnlyExecutor, json_safe
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.schema import Catalog
from airflow_aimod.exceptions import AgentTimeout, ConfigurationError, QueryExecutionError

DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, country TEXT,
                        segment VARCHAR(20));
CREATE TABLE products (product_id INTEGER PRIMARY KEY, title TEXT, price NUMERIC);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers,
                     status TEXT, total REAL, ordered_at DATE);
CREATE TABLE order_items (order_id INTEGER REFERENCES orders (order_id),
                          product_id INTEGER REFERENCES products (product_id), quantity INTEGER,
                          PRIMARY KEY (order_id, product_id));
CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB, note TEXT);
CREATE VIEW shipped AS SELECT * FROM orders WHERE status = 'shipped';
"""


def _build(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
                     [(i, f"customer {i}", f"c{i}@example.com", ("DE", "FR", "US")[i % 3], ("smb", "enterprise")[i % 2])
                      for i in range(1, 41)])
    conn.executemany("INSERT INTO products VALUES (?, ?, ?)", [(i, f"product {i}", i * 2.5) for i in range(1, 6)])
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
                     [(i, 1 + i % 40, ("pending", "paid", "shipped")[i % 3], i * 1.5, f"2024-01-{1 + i % 28:02d}")
                      for i in range(1, 101)])
    conn.executemany("INSERT INTO order_items VALUES (?, ?, ?)", [(i, 1 + i % 5, i % 4 + 1) for i in range(1, 101)])
    conn.execute("INSERT INTO blobs VALUES (1, x'00ff10', ?)", ("x" * 200,))
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return _build(tmp_path / "warehouse.db")


@pytest.fixture
def executor(db):
    with SqliteReadOnlyExecutor(db) as ex:
        yield ex


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_is_a_read_only_executor(executor):
    assert isinstance(executor, ReadOnlyExecutor)
    assert executor.dialect == "sqlite"


def test_missing_file_is_a_configuration_error_and_is_not_created(tmp_path):
    missing = tmp_path / "nope" / "warehouse.db"
    with pytest.raises(ConfigurationError, match="does not exist"):
        SqliteReadOnlyExecutor(missing)
    assert not missing.exists() and not missing.parent.exists()
    with pytest.raises(ConfigurationError):
        SqliteReadOnlyExecutor(tmp_path)  # a directory


def test_paths_with_uri_special_characters(tmp_path):
    odd = tmp_path / "odd dir?#%&"
    odd.mkdir()
    path = _build(odd / "w h.db")
    with SqliteReadOnlyExecutor(path) as ex:
        assert ex.run("SELECT count(*) FROM customers").rows == ((40,),)


@pytest.mark.parametrize("sql", [
    "DELETE FROM orders", "UPDATE orders SET status = 'x'", "INSERT INTO products VALUES (99, 'x', 1)",
    "DROP TABLE orders", "CREATE TABLE evil (x)", "CREATE TEMP TABLE evil (x)", "ALTER TABLE orders ADD COLUMN x",
    "REPLACE INTO products VALUES (1, 'x', 1)", "VACUUM", "REINDEX", "ANALYZE", "COMMIT", "BEGIN IMMEDIATE",
    "SELECT 1; DELETE FROM orders", "WITH d AS (SELECT 1) DELETE FROM orders",
    "UPDATE sqlite_master SET sql = 'x' WHERE name = 'orders'", "PRAGMA writable_schema = ON",
])
def test_writes_fail_and_change_nothing(executor, db, sql):
    before = _digest(db)
    with pytest.raises(QueryExecutionError):
        executor.run(sql)
    assert executor.run("SELECT count(*) FROM orders").rows == ((100,),)
    assert _digest(db) == before


def test_writes_fail_even_without_the_authorizer(executor, db):
    """The connection itself is read-only: the authorizer is a second layer, not the only one."""
    executor._conn.set_authorizer(None)
    executor._conn.execute("PRAGMA query_only = OFF")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        executor._conn.execute("DELETE FROM orders")
    assert executor._conn.execute("SELECT count(*) FROM orders").fetchone() == (100,)


def test_attach_is_refused_and_creates_no_file(executor, tmp_path):
    target = tmp_path / "attached.db"
    for sql in (f"ATTACH DATABASE '{target}' AS other", f"ATTACH 'file:{target}?mode=rwc' AS other"):
        with pytest.raises(QueryExecutionError, match="not authorized"):
            executor.run(sql)
    assert not target.exists()


def test_pragma_writes_have_no_effect(executor, db):
    before = _digest(db)
    for sql in ("PRAGMA user_version = 7", "PRAGMA journal_mode = WAL", "PRAGMA query_only = OFF",
                "PRAGMA foreign_keys = ON"):
        with pytest.raises(QueryExecutionError):
            executor.run(sql)
    assert executor.run("PRAGMA user_version").rows == ((0,),)
    assert executor.run("PRAGMA query_only").rows == ((1,),)
    assert executor.run("SELECT name FROM pragma_table_info('orders') LIMIT 1").rows == (("order_id",),)
    assert _digest(db) == before


def test_load_extension_is_refused(executor):
    with pytest.raises(QueryExecutionError):
        executor.run("SELECT load_extension('/tmp/nothing.so')")


def test_runaway_query_times_out_quickly(executor):
    started = time.monotonic()
    with pytest.raises(AgentTimeout, match="0.5 s deadline"):
        executor.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c",
                     timeout_s=0.5)
    assert time.monotonic() - started < 2
    assert executor.run("SELECT count(*) FROM customers").rows == ((40,),)  # usable afterwards


def test_row_cap_truncates(executor):
    result = executor.run("SELECT order_id FROM orders ORDER BY order_id", max_rows=10)
    assert result.rows == tuple((i,) for i in range(1, 11)) and result.truncated and result.row_count == 10
    exact = executor.run("SELECT product_id FROM products", max_rows=5)
    assert exact.row_count == 5 and not exact.truncated
    infinite = executor.run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
                            max_rows=3)
    assert infinite.rows == ((1,), (2,), (3,)) and infinite.truncated


def test_values_are_json_safe(executor):
    result = executor.run("SELECT data, note, 1.5 AS f, NULL AS n, 'é' AS s FROM blobs")
    assert result.rows == (("00ff10", "x" * 200, 1.5, None, "é"),)
    data = result.to_dict()
    assert set(data) == {"columns", "rows", "truncated", "row_count", "elapsed_ms"}
    assert json.loads(json.dumps(data, allow_nan=False))["rows"] == [["00ff10", "x" * 200, 1.5, None, "é"]]
    assert data["elapsed_ms"] >= 0


def test_json_safe_conversions():
    import datetime as dt
    import uuid
    from decimal import Decimal

    values = [Decimal("12.50"), Decimal("NaN"), dt.date(2024, 2, 29), dt.datetime(2024, 3, 1, 12, 30),
              dt.time(8, 15), b"\x00\xff", memoryview(b"\x01"), uuid.UUID(int=1), float("inf"),
              {"a": [Decimal("1.5"), (1, 2)]}, dt.timedelta(hours=2), True, None]
    assert [json_safe(v) for v in values] == [
        12.5, "NaN", "2024-02-29", "2024-03-01T12:30:00", "08:15:00", "00ff", "01",
        "00000000-0000-0000-0000-000000000001", "inf", {"a": [1.5, [1, 2]]}, "2:00:00", True, None]
    result = QueryResult.build(["x"], [(Decimal("1"),), (2,)], max_rows=1, started=time.perf_counter())
    assert result.rows == ((1.0,),) and result.truncated


def test_errors_carry_the_database_message(executor):
    with pytest.raises(QueryExecutionError, match="no such column: nope"):
        executor.run("SELECT nope FROM orders")
    with pytest.raises(QueryExecutionError, match="one statement at a time"):
        executor.run("SELECT 1; SELECT 2")
    assert executor.run("SELECT 1;").rows == ((1,),)


def test_bad_limits_are_configuration_errors(executor):
    with pytest.raises(ConfigurationError):
        executor.run("SELECT 1", max_rows=-1)
    with pytest.raises(ConfigurationError):
        executor.run("SELECT 1", timeout_s=0)


def test_catalog(executor):
    catalog = executor.catalog()
    assert catalog.dialect == "sqlite"
    assert [t.name for t in catalog.tables] == ["blobs", "customers", "order_items", "orders", "products", "shipped"]
    orders = catalog.table("orders")
    assert [(c.name, c.type, c.nullable, c.primary_key) for c in orders.columns] == [
        ("order_id", "INTEGER", False, True), ("customer_id", "INTEGER", False, False), ("status", "TEXT", True, False),
        ("total", "REAL", True, False), ("ordered_at", "DATE", True, False)]
    # REFERENCES customers (no column) points at the parent's primary key
    assert [(f.column, f.ref_table, f.ref_column) for f in orders.foreign_keys] == [
        ("customer_id", "customers", "customer_id")]
    items = catalog.table("order_items")
    assert {(f.column, f.ref_table, f.ref_column) for f in items.foreign_keys} == {
        ("order_id", "orders", "order_id"), ("product_id", "products", "product_id")}
    assert [c.name for c in items.columns if c.primary_key] == ["order_id", "product_id"]
    assert orders.row_count == 100 and catalog.table("customers").row_count == 40
    assert catalog.table("shipped").row_count is None and catalog.table("shipped").column("status")
    assert Catalog.from_dict(json.loads(json.dumps(catalog.to_dict()))) == catalog


def test_catalog_row_counts_come_from_analyze_when_present(db):
    conn = sqlite3.connect(db)
    conn.execute("CREATE INDEX orders_status ON orders (status)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    with SqliteReadOnlyExecutor(db) as ex:
        assert ex.catalog().table("orders").row_count == 100


def test_with_samples(executor):
    catalog = executor.catalog()
    sampled = executor.with_samples(catalog.subset(["customers", "orders", "blobs"]), max_distinct=5)
    customers, orders = sampled.table("customers"), sampled.table("orders")
    country = customers.column("country")
    assert country.samples == ("FR", "DE", "US") and country.distinct_count == 3  # by frequency (14, 13, 13), value
    assert customers.column("segment").samples == ("enterprise", "smb")
    assert orders.column("status").samples == ("paid", "pending", "shipped")  # by frequency (34, 33, 33), value
    assert customers.column("email").samples == () and customers.column("email").distinct_count == 40  # PII
    assert customers.column("name").samples == () and customers.column("name").distinct_count == 40  # > 5
    assert customers.column("customer_id").distinct_count is None  # identifiers are not sampled
    assert orders.column("total").samples == ()  # not text
    assert sampled.table("blobs").column("note").samples == ()  # free text (200 chars)
    assert executor.with_samples(catalog.subset(["customers"]), timeout_s=1e-9) == catalog.subset(["customers"])


def test_one_executor_serves_threads(executor):
    errors = []

    def work() -> None:
        try:
            for _ in range(20):
                assert executor.run("SELECT count(*) FROM orders").rows == ((100,),)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_closed_executor_refuses(db):
    ex = SqliteReadOnlyExecutor(db)
    ex.close()
    ex.close()
    with pytest.raises(QueryExecutionError, match="closed"):
        ex.run("SELECT 1")
