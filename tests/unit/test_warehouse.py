"""The embedded demo warehouse: schema, integrity, sizes, determinism (build speed is not a unit test)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from airflow_aimod.demo.warehouse import DEMO_PII_COLUMNS, DEMO_PII_TABLES, build_warehouse

TABLES = {"customers", "products", "orders", "order_items"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "warehouse.db"
    build_warehouse(path)
    return path


@pytest.fixture(scope="module")
def db(built) -> sqlite3.Connection:
    con = sqlite3.connect(built)
    yield con
    con.close()


def one(db: sqlite3.Connection, sql: str):
    return db.execute(sql).fetchone()[0]


def digest(path: Path, sql: str) -> str:
    con = sqlite3.connect(path)
    try:
        return hashlib.sha256(repr(con.execute(sql).fetchall()).encode()).hexdigest()
    finally:
        con.close()


def test_tables_columns_and_indexes(db):
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert TABLES <= tables
    columns = {r[1] for r in db.execute("PRAGMA table_info(customers)")}
    assert columns == {"id", "full_name", "email", "phone", "country", "city", "segment", "signup_date"}
    indexed = {r[0] for r in db.execute("SELECT tbl_name || '.' || sql FROM sqlite_master WHERE type = 'index' "
                                        "AND sql IS NOT NULL")}
    for needle in ("orders.", "order_items."):
        assert any(i.startswith(needle) for i in indexed)
    assert any("order_date" in i for i in indexed)
    fks = {(r[2], r[3], r[4]) for r in db.execute("PRAGMA foreign_key_list(order_items)")}
    assert fks == {("orders", "order_id", "id"), ("products", "product_id", "id")}


def test_row_counts_in_expected_ranges(db):
    assert one(db, "SELECT COUNT(*) FROM customers") == 2000
    assert 140 <= one(db, "SELECT COUNT(*) FROM products") <= 160
    assert one(db, "SELECT COUNT(*) FROM orders") == 20000
    assert 45_000 <= one(db, "SELECT COUNT(*) FROM order_items") <= 55_000
    assert 9 <= one(db, "SELECT COUNT(DISTINCT country) FROM customers") <= 11
    assert one(db, "SELECT COUNT(DISTINCT category) FROM products") == 8
    per_order = db.execute("SELECT MIN(n), MAX(n) FROM (SELECT COUNT(*) n FROM order_items GROUP BY order_id)")
    assert per_order.fetchone() == (1, 5)


def test_foreign_keys_have_no_orphans(db):
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert one(db, "SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id "
                   "WHERE c.id IS NULL") == 0
    assert one(db, "SELECT COUNT(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL") == 0
    assert one(db, "SELECT COUNT(*) FROM order_items i LEFT JOIN products p ON p.id = i.product_id "
                   "WHERE p.id IS NULL") == 0
    assert one(db, "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS "
                   "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)") == 0


def test_values_dates_and_totals_are_consistent(db):
    assert db.execute("SELECT MIN(order_date), MAX(order_date) FROM orders").fetchone() == ("2023-01-01", "2024-12-31")
    iso = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
    assert one(db, f"SELECT COUNT(*) FROM orders WHERE order_date NOT GLOB {iso}") == 0
    statuses = {r[0] for r in db.execute("SELECT DISTINCT status FROM orders")}
    assert statuses == {"placed", "shipped", "delivered", "cancelled", "returned"}
    assert {r[0] for r in db.execute("SELECT DISTINCT channel FROM orders")} == {"web", "mobile", "store"}
    segments = {r[0] for r in db.execute("SELECT DISTINCT segment FROM customers")}
    assert segments == {"consumer", "small_business", "enterprise"}
    worst = one(db, "SELECT MAX(ABS(o.total_amount - s.total)) FROM orders o JOIN (SELECT order_id, "
                    "SUM(quantity * unit_price) AS total FROM order_items GROUP BY order_id) s ON s.order_id = o.id")
    assert worst < 0.005
    assert one(db, "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                   "WHERE c.signup_date > o.order_date") == 0
    assert one(db, "SELECT COUNT(*) FROM customers WHERE email NOT LIKE '%@example.%'") == 0


def test_seasonality_is_visible(db):
    december = one(db, "SELECT COUNT(*) FROM orders WHERE order_date LIKE '2024-12-%'")
    february = one(db, "SELECT COUNT(*) FROM orders WHERE order_date LIKE '2024-02-%'")
    assert december > 1.5 * february
    weekend = one(db, "SELECT COUNT(*) * 1.0 / 2 FROM orders WHERE strftime('%w', order_date) IN ('0', '6')")
    weekday = one(db, "SELECT COUNT(*) * 1.0 / 5 FROM orders WHERE strftime('%w', order_date) NOT IN ('0', '6')")
    assert weekend > weekday


def test_same_seed_same_data_other_seed_other_data(tmp_path, built):
    sql = "SELECT o.id, o.customer_id, o.order_date, o.total_amount, c.email FROM orders o JOIN customers c " \
          "ON c.id = o.customer_id ORDER BY o.id"
    again = build_warehouse(tmp_path / "again.db")
    other = build_warehouse(tmp_path / "other.db", seed=8)
    assert digest(again, sql) == digest(built, sql)
    assert digest(other, sql) != digest(built, sql)


def test_rebuild_replaces_atomically_and_scales(tmp_path):
    target = tmp_path / "wh.db"
    target.write_text("not a database")
    assert build_warehouse(target, scale=0.05) == target
    con = sqlite3.connect(target)
    try:
        assert one(con, "SELECT COUNT(*) FROM customers") == 100
        assert one(con, "SELECT COUNT(*) FROM orders") == 1000
    finally:
        con.close()
    assert [p.name for p in tmp_path.iterdir()] == ["wh.db"]
    with pytest.raises(ValueError):
        build_warehouse(target, scale=0)


def test_pii_constants_name_real_columns(db):
    for table in DEMO_PII_TABLES:
        assert table in TABLES
    for qualified in DEMO_PII_COLUMNS:
        table, column = qualified.split(".")
        assert column in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
