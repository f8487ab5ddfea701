"""The offline NL→SQL composer: composed SQL is executed and compared with hand-written SQL.

Runs on the demo warehouse and on a differently named HR schema and a library schema
built here, to show nothing in the composer knows the demo's tables.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from airflow_aimod.core.grounding import ungrounded_references
from airflow_aimod.core.llm.offline.nl2sql.composer import READ_ONLY
from airflow_aimod.core.schema import Catalog, Column, Table
from airflow_aimod.core.sqlguard import SqlGuard
from airflow_aimod.demo.warehouse import build_warehouse

from tests.unit.nl2sql_support import COMPOSER, TODAY, answer, catalog_from_sqlite, check, same_rows


# ---- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    path = build_warehouse(tmp_path_factory.mktemp("nl2sql") / "warehouse.db")
    con = sqlite3.connect(path)
    yield con, catalog_from_sqlite(path)
    con.close()



# ---- the demo warehouse ----------------------------------------------------------------------------------
Y2024 = "order_date >= '2024-01-01' AND order_date < '2025-01-01'"
REVENUE_BY_CATEGORY = ("SELECT p.category, SUM(i.quantity * i.unit_price) r FROM order_items i "
                       "JOIN products p ON p.id = i.product_id {where} GROUP BY p.category ORDER BY r {dir}, 1 {limit}")

RETAIL = [
    # counts
    ("How many orders were placed in 2024?", f"SELECT COUNT(*) FROM orders WHERE {Y2024}", False),
    ("How many customers are there?", "SELECT COUNT(*) FROM customers", False),
    ("Number of products", "SELECT COUNT(*) FROM products", False),
    ("How many customers in Germany?", "SELECT COUNT(*) FROM customers WHERE country = 'Germany'", False),
    ("How many orders were cancelled?", "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'", False),
    ("Count the orders placed via mobile in March 2024",
     "SELECT COUNT(*) FROM orders WHERE channel = 'mobile' AND order_date BETWEEN '2024-03-01' AND '2024-03-31'",
     False),
    ("How many different countries are there?", "SELECT COUNT(DISTINCT country) FROM customers", False),
    ("How many enterprise customers signed up in 2023?",
     "SELECT COUNT(*) FROM customers WHERE segment = 'enterprise' AND signup_date LIKE '2023-%'", False),
    ("How many inactive products are there?", "SELECT COUNT(*) FROM products WHERE active = 0", False),
    ("How many orders were not cancelled in 2024?",
     f"SELECT COUNT(*) FROM orders WHERE status <> 'cancelled' AND {Y2024}", False),
    ("How many customers are from Spain or Italy?",
     "SELECT COUNT(*) FROM customers WHERE country IN ('Spain', 'Italy')", False),
    # sums, averages, extremes
    ("What is the total revenue?", "SELECT SUM(total_amount) FROM orders", False),
    ("Total sales per channel in 2023",
     "SELECT channel, SUM(total_amount) FROM orders WHERE order_date LIKE '2023-%' GROUP BY channel", False),
    ("Sum of quantity for books", "SELECT SUM(i.quantity) FROM order_items i JOIN products p ON p.id = i.product_id "
                                  "WHERE p.category = 'books'", False),
    ("How many units were sold per category?", "SELECT p.category, SUM(i.quantity) FROM order_items i "
                                               "JOIN products p ON p.id = i.product_id GROUP BY 1", False),
    ("What is the average order value?", "SELECT AVG(total_amount) FROM orders", False),
    ("Average price of products per category", "SELECT category, AVG(unit_price) FROM products GROUP BY 1", False),
    ("Average order amount for enterprise customers",
     "SELECT AVG(o.total_amount) FROM orders o JOIN customers c ON c.id = o.customer_id "
     "WHERE c.segment = 'enterprise'", False),
    ("What is the highest order total?", "SELECT MAX(total_amount) FROM orders", False),
    ("What is the lowest product price?", "SELECT MIN(unit_price) FROM products", False),
    ("Minimum order amount in 2024", f"SELECT MIN(total_amount) FROM orders WHERE {Y2024}", False),
    ("What is the most expensive product?", "SELECT * FROM products ORDER BY unit_price DESC, id LIMIT 1", True),
    # grouping and ranking
    ("What is the total revenue by country?", "SELECT c.country, SUM(o.total_amount) FROM orders o "
                                              "JOIN customers c ON c.id = o.customer_id GROUP BY 1", False),
    ("Top 5 customers by revenue", "SELECT c.id, c.full_name, SUM(o.total_amount) r FROM orders o JOIN customers c "
                                   "ON c.id = o.customer_id GROUP BY 1, 2 ORDER BY r DESC, 1 LIMIT 5", True),
    ("Top 5 customers by number of orders", "SELECT c.id, c.full_name, COUNT(*) n FROM orders o JOIN customers c "
                                            "ON c.id = o.customer_id GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 5", True),
    ("Top 3 products by quantity sold", "SELECT p.id, p.name, SUM(i.quantity) q FROM order_items i JOIN products p "
                                        "ON p.id = i.product_id GROUP BY 1, 2 ORDER BY q DESC, 1 LIMIT 3", True),
    ("Show the top 5 product categories by revenue in 2024",
     REVENUE_BY_CATEGORY.format(where="JOIN orders o ON o.id = i.order_id WHERE o." + Y2024, dir="DESC",
                                limit="LIMIT 5"), True),
    ("Bottom 3 categories by revenue", REVENUE_BY_CATEGORY.format(where="", dir="ASC", limit="LIMIT 3"), True),
    ("Revenue by product category", REVENUE_BY_CATEGORY.format(where="", dir="DESC", limit=""), False),
    ("Number of orders by status", "SELECT status, COUNT(*) FROM orders GROUP BY 1", False),
    ("Orders per channel", "SELECT channel, COUNT(*) FROM orders GROUP BY 1", False),
    ("Which country has the most customers?",
     "SELECT country, COUNT(*) n FROM customers GROUP BY 1 ORDER BY n DESC LIMIT 1", True),
    ("Revenue by month in 2024", "SELECT substr(order_date, 1, 7) m, SUM(total_amount) FROM orders "
                                 f"WHERE {Y2024} GROUP BY m ORDER BY m", True),
    ("Number of orders per year", "SELECT substr(order_date, 1, 4) y, COUNT(*) FROM orders GROUP BY y ORDER BY y",
     True),
    ("Average order value per channel", "SELECT channel, AVG(total_amount) FROM orders GROUP BY 1", False),
    # listings, values, numbers
    ("List the email addresses of customers in Germany",
     "SELECT email FROM customers WHERE country = 'Germany' ORDER BY id LIMIT 100", True),
    ("Show products in the books category", "SELECT * FROM products WHERE category = 'books' ORDER BY id", True),
    ("List products with a price over 100", "SELECT * FROM products WHERE unit_price > 100 ORDER BY id LIMIT 100",
     True),
    ("Which products cost less than 10?", "SELECT * FROM products WHERE unit_price < 10 ORDER BY id LIMIT 100", True),
    ("Orders with total amount between 100 and 200 in 2024",
     f"SELECT * FROM orders WHERE total_amount BETWEEN 100 AND 200 AND {Y2024} ORDER BY id LIMIT 100", True),
    ("Latest 5 orders", "SELECT * FROM orders ORDER BY order_date DESC, id DESC LIMIT 5", True),
    ("customers in the city Berlin", "SELECT * FROM customers WHERE city = 'Berlin' ORDER BY id LIMIT 100", True),
    # date ranges (today is 2024-12-15)
    ("How many orders in the last 30 days?",
     "SELECT COUNT(*) FROM orders WHERE order_date BETWEEN '2024-11-15' AND '2024-12-15'", False),
    ("Revenue last month", "SELECT SUM(total_amount) FROM orders WHERE order_date LIKE '2024-11-%'", False),
    ("How many orders this year?", f"SELECT COUNT(*) FROM orders WHERE {Y2024}", False),
    ("Revenue since 2024-06-01", "SELECT SUM(total_amount) FROM orders WHERE order_date >= '2024-06-01'", False),
    ("How many orders between 2024-01-01 and 2024-03-31?",
     "SELECT COUNT(*) FROM orders WHERE order_date BETWEEN '2024-01-01' AND '2024-03-31'", False),
    ("How many orders in Q1 2024?",
     "SELECT COUNT(*) FROM orders WHERE order_date BETWEEN '2024-01-01' AND '2024-03-31'", False),
    # joins along foreign keys, one and two hops, and semi-joins
    ("How many orders from customers in France?", "SELECT COUNT(*) FROM orders o JOIN customers c "
                                                  "ON c.id = o.customer_id WHERE c.country = 'France'", False),
    ("Total quantity sold per country", "SELECT c.country, SUM(i.quantity) FROM order_items i JOIN orders o "
                                        "ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id GROUP BY 1",
     False),
    ("How much did customers in Germany spend in 2024?",
     "SELECT SUM(o.total_amount) FROM orders o JOIN customers c ON c.id = o.customer_id "
     f"WHERE c.country = 'Germany' AND o.{Y2024}", False),
    ("How many customers ordered in December 2024?",
     "SELECT COUNT(DISTINCT customer_id) FROM orders WHERE order_date LIKE '2024-12-%'", False),
    ("customers with more than 25 orders", "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders "
                                           "GROUP BY 1 HAVING COUNT(*) > 25) ORDER BY id LIMIT 100", True),
    ("customers who never ordered", "SELECT * FROM customers WHERE id NOT IN (SELECT customer_id FROM orders) "
                                    "ORDER BY id LIMIT 100", True),
    ("Which channel is the most popular?", "SELECT channel, COUNT(*) n FROM orders GROUP BY 1 ORDER BY n DESC LIMIT 1",
     True),
    ("Revenue from books in 2024", "SELECT SUM(i.quantity * i.unit_price) FROM order_items i JOIN products p "
                                   "ON p.id = i.product_id JOIN orders o ON o.id = i.order_id "
                                   f"WHERE p.category = 'books' AND o.{Y2024}", False),
    ("How many customers have fewer than 3 orders?",
     "SELECT COUNT(*) FROM customers c WHERE (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id) < 3", False),
    ("customers who spent more than 5000 in 2024",
     "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE "
     f"{Y2024} GROUP BY 1 HAVING SUM(total_amount) > 5000) ORDER BY id LIMIT 100", True),
    ("How many orders contain books?", "SELECT COUNT(DISTINCT i.order_id) FROM order_items i JOIN products p "
                                       "ON p.id = i.product_id WHERE p.category = 'books'", False),
    ("How many products were ordered by enterprise customers?",
     "SELECT COUNT(DISTINCT i.product_id) FROM order_items i JOIN orders o ON o.id = i.order_id "
     "JOIN customers c ON c.id = o.customer_id WHERE c.segment = 'enterprise'", False),
    ("Number of customers by product category",
     "SELECT p.category, COUNT(DISTINCT o.customer_id) FROM order_items i JOIN orders o ON o.id = i.order_id "
     "JOIN products p ON p.id = i.product_id GROUP BY 1", False),
]


@pytest.mark.parametrize(("question", "reference", "ordered"), RETAIL, ids=[c[0] for c in RETAIL])
def test_retail_questions_give_the_right_answer(retail, question, reference, ordered):
    db, catalog = retail
    out = check(db, catalog, question, reference, ordered)
    assert out["refusal"] is None and 0.0 < out["confidence"] <= 1.0
    assert out["tables"] and out["rationale"] and isinstance(out["interpretation"], dict)


REFUSALS = [
    ("How many employees were hired in 2024?", "employees"),
    ("write me a poem about orders", "not a question about the data"),
    ("What's the weather in Berlin?", "not a question about the data"),
    ("tell me a joke", "not a question about the data"),
    ("hello", "not a question about the data"),
    ("", "empty"),
    ("   ", "empty"),
    ("delete all cancelled orders", READ_ONLY),
    ("DROP TABLE customers;", READ_ONLY),
    ("update orders set status = 'shipped'", READ_ONLY),
    ("insert into products values (1, 'x', 'books', 1, 1)", READ_ONLY),
    ("Please truncate the orders table", READ_ONLY),
    ("orders from Atlantis", "Atlantis"),
    ("How many customers in Narnia?", "Narnia"),
    ("Show orders with status gold", "no status named 'gold'"),
    ("What is the average salary by department?", "salary"),
    ("How many suppliers are there?", "suppliers"),
    ("What is the profit margin per product?", "profit"),
    ("What percentage of orders were cancelled?", "percentage"),
    ("Total revenue by weather", "weather"),
    ("Show the orders of Mars", "Mars"),
    ("How many orders per customer on average?", "several aggregates"),
    ("customers who are not", "negation"),
    # a word that negates part of the question or asks for an action is never skipped as a mere verb
    ("average order amount, disregarding the amounts", "disregarding"),
    ("sum of product prices, ignoring the prices", "ignoring"),
    ("list the customers in France and notify them", "notify"),
    ("show the product names and follow the instructions", "follow"),
    # a size superlative ranks by a number: it is never read as a count of a text column
    ("which customer has the longest email?", "numeric column"),
    ("which product has the shortest name?", "numeric column"),
]


@pytest.mark.parametrize(("question", "reason"), REFUSALS, ids=[c[0] or "<empty>" for c in REFUSALS])
def test_refuses_what_the_schema_cannot_answer(retail, question, reason):
    out = answer(question, retail[1])
    assert out["sql"] is None and out["confidence"] == 0.0
    assert reason.lower() in out["refusal"].lower(), out["refusal"]


def test_unknown_place_names_the_column_it_would_belong_to(retail):
    refusal = answer("orders from Atlantis", retail[1])["refusal"]
    assert "country" in refusal and "Germany" in refusal


# ---- dialects, shape, determinism, feedback ---------------------------------------------------------------
def test_every_answer_is_one_select_that_parses_in_both_dialects(retail):
    catalog = retail[1]
    for question, _, _ in RETAIL:
        for dialect in ("sqlite", "postgres"):
            sql = answer(question, catalog, dialect=dialect)["sql"]
            statements = sqlglot.parse(sql, read=dialect)
            assert len(statements) == 1 and isinstance(statements[0], exp.Select), sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_answer_passes_the_sql_guard_and_grounding(retail, dialect):
    catalog = retail[1]
    guard = SqlGuard(dialect=dialect, max_tables=5, pii_tables=["customers"])
    for question, _, _ in RETAIL:
        sql = answer(question, catalog, dialect=dialect)["sql"]
        verdict = guard.check(sql)
        assert verdict.allowed, (question, sql, verdict.violations)
        assert ungrounded_references(sql, Catalog(dialect, catalog.tables)) == [], (question, sql)


def test_postgres_output_uses_portable_syntax(retail):
    catalog = retail[1]
    for question, _, _ in RETAIL:
        sql = answer(question, catalog, dialect="postgres")["sql"]
        assert not re.search(r"strftime|date\(\s*'now'|julianday|datetime\(", sql, re.IGNORECASE), sql
    monthly = answer("Revenue by month in 2024", catalog, dialect="postgres")["sql"]
    assert "TO_CHAR(o.order_date, 'YYYY-MM')" in monthly
    recent = answer("How many orders in the last 30 days?", catalog, dialect="postgres")["sql"]
    assert "'2024-11-15'" in recent and "'2024-12-16'" in recent


def test_answers_are_deterministic_and_relative_dates_follow_today(retail):
    catalog = retail[1]
    first = COMPOSER.compose("Revenue last month", catalog, today=TODAY)
    assert COMPOSER.compose("Revenue last month", catalog, today=TODAY) == first
    later = COMPOSER.compose("Revenue last month", catalog, today=date(2024, 3, 10))
    assert "'2024-02-01'" in later["sql"] and "'2024-03-01'" in later["sql"]


def test_confidence_reflects_grounding(retail):
    catalog = retail[1]
    exact = answer("How many orders were placed in 2024?", catalog)["confidence"]
    vaguer = answer("What is the lowest unit price?", catalog)  # products or order lines: ambiguous
    assert exact >= 0.9 and vaguer["confidence"] < exact
    assert any("ambiguous" in n for n in vaguer["interpretation"]["notes"])


def test_output_shape(retail):
    out = answer("What is the total revenue by country?", retail[1])
    assert set(out) == {"sql", "confidence", "rationale", "refusal", "tables", "interpretation"}
    assert out["tables"] == ["orders", "customers"]
    info = out["interpretation"]
    assert info["measure"] == "SUM(orders.total_amount)" and info["group_by"] == ["customers.country"]
    assert info["joins"] == ["orders.customer_id = customers.id"]


def test_feedback_about_a_column_is_repaired(retail):
    db, catalog = retail
    question = "What is the total revenue by country?"
    first = answer(question, catalog)
    repaired = answer(question, catalog, feedback=["unknown column orders.total_amount: orders has id"])
    assert repaired["sql"] and repaired["sql"] != first["sql"] and "total_amount" not in repaired["sql"]
    assert repaired["confidence"] < first["confidence"]
    assert same_rows(db.execute(repaired["sql"]).fetchall(), db.execute(first["sql"]).fetchall(), ordered=False)


def test_feedback_without_a_fix_is_refused_not_repeated(retail):
    catalog = retail[1]
    out = answer("Number of orders per year", catalog, feedback=["function strftime() is not allowed"])
    assert out["sql"] is None and "strftime" in out["refusal"]
    limited = answer("Show the top 5 product categories by revenue in 2024", catalog,
                     feedback=["query touches 3 tables (limit 2): order_items, products, orders"])
    assert limited["sql"] is None and "limit 2" in limited["refusal"]
    hidden = answer("List the email addresses of customers in Germany", catalog,
                    feedback=["PII column customers.email is not allowed"])
    assert hidden["sql"] is None and "email" in hidden["refusal"]


def test_quoted_identifiers_for_awkward_names(tmp_path):
    path = tmp_path / "awkward.db"
    con = sqlite3.connect(path)
    con.executescript('CREATE TABLE "Order" (id INTEGER PRIMARY KEY, "Net Amount" REAL, "group" TEXT);'
                      'INSERT INTO "Order" VALUES (1, 10.5, \'a\'), (2, 4.5, \'b\'), (3, 1.0, \'a\');')
    catalog = catalog_from_sqlite(path)
    out = COMPOSER.compose("net amount by group", catalog, today=TODAY)
    assert '"Order"' in out["sql"] and '"Net Amount"' in out["sql"] and '"group"' in out["sql"]
    assert sorted(con.execute(out["sql"]).fetchall()) == [("a", 11.5), ("b", 4.5)]
    assert sqlglot.parse_one(COMPOSER.compose("net amount by group", catalog, dialect="postgres")["sql"],
                             read="postgres")
    con.close()


def test_tables_outside_the_default_schema_are_qualified():
    columns = (Column("id", "integer", primary_key=True), Column("amount", "numeric"))
    catalog = Catalog("postgres", (Table("payments", columns, schema="finance"),
                                   Table("refunds", columns, schema="public")))
    payments = COMPOSER.compose("total amount of payments", catalog, dialect="postgres", today=TODAY)["sql"]
    refunds = COMPOSER.compose("total amount of refunds", catalog, dialect="postgres", today=TODAY)["sql"]
    assert payments == "SELECT SUM(p.amount) AS total_amount FROM finance.payments AS p"
    assert refunds == "SELECT SUM(r.amount) AS total_amount FROM refunds AS r"


def test_unexpected_input_never_raises(retail):
    for question in ("by", "top 5 top 3", "'", "\"\"", "orders by by by", "between 2024-01-01 and", "?" * 50,
                     "how many how many", "revenue revenue", "2024-13-45 orders", "top 0 customers", "x" * 5000):
        out = COMPOSER.compose(question, retail[1], today=TODAY)
        assert set(out) >= {"sql", "refusal", "confidence"} and (out["sql"] is None) == (out["refusal"] is not None)
        assert "could not interpret" not in (out["refusal"] or ""), question
