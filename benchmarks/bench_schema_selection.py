"""Benchmark: prompt size for one question against a 1,000-table SQLite warehouse.

Builds a real SQLite file (generated DDL with foreign keys and a few rows per table),
introspects it through SqliteReadOnlyExecutor.catalog(), then for each question runs
the SQL agent's schema step (select -> with_samples -> fit) and measures the prompt
it would send, against the baseline of sending the whole catalog. Exits 1 when any
prompt reaches 4,000 tokens.

    python benchmarks/bench_schema_selection.py
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import sys
import tempfile
import time
import zlib
from pathlib import Path

try:
    import airflow_aimod  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_aimod.core.budget import estimate_tokens
from airflow_aimod.core.executors.sqlite import SqliteReadOnlyExecutor
from airflow_aimod.core.prompts import sql_messages
from airflow_aimod.core.schema import Catalog
from airflow_aimod.core.schema_select import SchemaSelector
from tests.support.synthetic import wide_tables

PROMPT_LIMIT = 4000
TARGET_TABLES = 1000
TODAY = "2025-01-15"

RETAIL_DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT,
    country TEXT, segment TEXT, created_at TIMESTAMP);
CREATE TABLE categories (category_id INTEGER PRIMARY KEY, category_name TEXT,
    parent_category_id INTEGER REFERENCES categories (category_id));
CREATE TABLE suppliers (supplier_id INTEGER PRIMARY KEY, supplier_name TEXT, country TEXT, contact_email TEXT);
CREATE TABLE products (product_id INTEGER PRIMARY KEY, product_name TEXT,
    category_id INTEGER REFERENCES categories (category_id), supplier_id INTEGER REFERENCES suppliers (supplier_id),
    list_price NUMERIC, sku TEXT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (customer_id),
    status TEXT, order_date DATE, total_amount NUMERIC, currency TEXT);
CREATE TABLE order_items (order_item_id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (order_id),
    product_id INTEGER REFERENCES products (product_id), quantity INTEGER, unit_price NUMERIC, discount NUMERIC);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (order_id),
    method TEXT, amount NUMERIC, paid_at TIMESTAMP);
CREATE TABLE shipments (shipment_id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (order_id),
    carrier TEXT, shipped_at TIMESTAMP, delivered_at TIMESTAMP);
CREATE TABLE departments (department_id INTEGER PRIMARY KEY, department_name TEXT, location TEXT);
CREATE TABLE employees (employee_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
    department_id INTEGER REFERENCES departments (department_id), hire_date DATE, salary NUMERIC,
    manager_id INTEGER REFERENCES employees (employee_id));
CREATE TABLE product_reviews (review_id INTEGER PRIMARY KEY, product_id INTEGER REFERENCES products (product_id),
    customer_id INTEGER REFERENCES customers (customer_id), rating INTEGER, review_text TEXT, created_at TIMESTAMP);
CREATE TABLE warehouses (warehouse_id INTEGER PRIMARY KEY, warehouse_name TEXT, city TEXT, country TEXT);
CREATE TABLE inventory_levels (product_id INTEGER REFERENCES products (product_id),
    warehouse_id INTEGER REFERENCES warehouses (warehouse_id), quantity_on_hand INTEGER, updated_at TIMESTAMP,
    PRIMARY KEY (product_id, warehouse_id));
"""
VALUES = {
    "country": ("Germany", "France", "United States", "Japan", "Brazil"),
    "segment": ("consumer", "smb", "enterprise"), "status": ("pending", "paid", "shipped", "cancelled", "open"),
    "currency": ("EUR", "USD", "GBP"), "method": ("credit_card", "paypal", "bank_transfer"),
    "carrier": ("DHL", "UPS", "FedEx"), "category_name": ("Electronics", "Books", "Garden", "Toys"),
    "department_name": ("Sales", "Engineering", "Finance", "Support"), "city": ("Berlin", "Lyon", "Austin"),
    "channel": ("email", "web", "phone"), "priority": ("low", "medium", "high"),
    "stage": ("new", "qualified", "won", "lost"), "device": ("mobile", "desktop"),
}
QUESTIONS = (
    "What is the total revenue by customer country?",
    "How many orders were shipped last month?",
    "Top 5 products by quantity sold",
    "Average salary per department",
    "Which suppliers sell products in the Electronics category?",
    "Total amount of payments made by credit card",
    "Customers who never placed an order",
    "Revenue per product category",
    "Average review rating per product",
    "Quantity on hand per warehouse city",
    "How many open support tickets per priority?",
    "How many tickets per channel and priority?",
    "What is the weather on Mars?",
)


def generated_ddl(count: int) -> list[str]:
    """CREATE TABLE statements for the first ``count`` tables of the synthetic wide layout."""
    statements = []
    for name, spec in itertools.islice(wide_tables(), count):
        cols = [_column_ddl(column, references) for column, references in spec]
        statements.append(f"CREATE TABLE {name} ({', '.join(cols)})")
    return statements


def _column_ddl(column: str, references: str | None) -> str:
    if column == "id":
        return "id INTEGER PRIMARY KEY"
    if references:
        return f"{column} INTEGER REFERENCES {references} (id)"
    if column in ("created_at", "updated_at"):
        return f"{column} TIMESTAMP"
    return f"{column} {_type(column)}"


def _type(column: str) -> str:
    """TEXT for columns with sample values, otherwise TEXT or NUMERIC (stable across runs)."""
    return "TEXT" if column in VALUES or zlib.crc32(column.encode()) % 2 else "NUMERIC"


def build_warehouse(path: Path) -> None:
    """The SQLite file: retail tables plus generated ones up to TARGET_TABLES, a few rows in each."""
    rnd = random.Random(42)
    conn = sqlite3.connect(path)
    conn.executescript(RETAIL_DDL)
    retail = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    for statement in generated_ddl(TARGET_TABLES - retail):
        conn.execute(statement)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        rows = [[_value(c, i, rnd) for c in columns] for i in range(1, 41 if table in _RETAIL_NAMES else 6)]
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", rows)
    conn.commit()
    conn.close()


_RETAIL_NAMES = {"customers", "categories", "suppliers", "products", "orders", "order_items", "payments",
                 "shipments", "departments", "employees", "product_reviews", "warehouses", "inventory_levels"}


def _value(column: str, i: int, rnd: random.Random) -> object:
    if column in VALUES:
        return VALUES[column][i % len(VALUES[column])]
    if column.endswith("id"):
        return i
    if column.endswith(("_at", "date")):
        return f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return round(rnd.uniform(1, 500), 2) if rnd.random() < 0.5 else f"{column} {i}"


def prompt_tokens(question: str, catalog: Catalog) -> int:
    """Tokens of the whole SQL-agent prompt (system + question + schema JSON)."""
    prompt = sql_messages(question, catalog.to_dict(), dialect="sqlite", today=TODAY)
    return sum(estimate_tokens(text) for _, text in prompt.messages)


def main() -> int:
    selector = SchemaSelector()
    with tempfile.TemporaryDirectory(prefix="aimod-bench-") as tmp:
        path = Path(tmp) / "warehouse.db"
        started = time.perf_counter()
        build_warehouse(path)
        build_s = time.perf_counter() - started
        with SqliteReadOnlyExecutor(path) as executor:
            started = time.perf_counter()
            catalog = executor.catalog()
            introspect_ms = (time.perf_counter() - started) * 1000
            baseline = prompt_tokens("?", catalog)
            rows = [_measure(selector, executor, catalog, question, baseline) for question in QUESTIONS]
    _report(catalog, baseline, build_s, introspect_ms, rows, selector)
    worst = max(r["prompt"] for r in rows)
    return 0 if worst < PROMPT_LIMIT else 1


def _measure(selector: SchemaSelector, executor: SqliteReadOnlyExecutor, catalog: Catalog, question: str,
             baseline: int) -> dict:
    started = time.perf_counter()
    chosen = selector.select(question, catalog)
    select_ms = (time.perf_counter() - started) * 1000
    sampled = executor.with_samples(chosen)
    final = selector.fit(question, sampled)
    total_ms = (time.perf_counter() - started) * 1000
    prompt = prompt_tokens(question, final)
    return {"question": question, "tables": [t.name for t in final.tables], "schema": selector.tokens(final),
            "prompt": prompt, "unfitted": prompt_tokens(question, sampled), "ratio": baseline / prompt,
            "select_ms": select_ms, "total_ms": total_ms}


def _report(catalog: Catalog, baseline: int, build_s: float, introspect_ms: float, rows: list[dict],
            selector: SchemaSelector) -> None:
    columns = sum(len(t.columns) for t in catalog.tables)
    fks = sum(len(t.foreign_keys) for t in catalog.tables)
    print(f"warehouse: {len(catalog.tables)} tables, {columns} columns, {fks} foreign keys "
          f"(built in {build_s:.1f} s; catalog() introspection {introspect_ms:.0f} ms)")
    print(f"baseline: the whole catalog in the prompt = {baseline:,} tokens")
    print(f"selector: max_tables={selector.max_tables}, max_tokens={selector.max_tokens} (schema JSON); "
          f"limit for the whole prompt: < {PROMPT_LIMIT}\n")
    head = (f"{'question':<58} {'prompt':>6} {'schema':>6} {'no fit':>6} {'ratio':>7} {'select':>8} "
            f"{'+samples':>9}  tables")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['question'][:58]:<58} {r['prompt']:>6} {r['schema']:>6} {r['unfitted']:>6} {r['ratio']:>6.0f}x "
              f"{r['select_ms']:>6.1f}ms {r['total_ms']:>7.1f}ms  {', '.join(r['tables']) or '-'}")
    worst = max(r["prompt"] for r in rows)
    print(f"\nmax prompt: {worst} tokens (baseline {baseline:,}; {baseline / worst:.0f}x smaller); "
          f"max without fit after samples: {max(r['unfitted'] for r in rows)}; "
          f"max selection latency: {max(r['select_ms'] for r in rows):.1f} ms")
    print("prompt = system + question + schema JSON as sql_messages() builds it, after select -> with_samples -> fit;"
          " 'no fit' = the same without the final fit")
    print("PASS" if worst < PROMPT_LIMIT else f"FAIL: a prompt reached {PROMPT_LIMIT} tokens")


if __name__ == "__main__":
    sys.exit(main())
