"""SchemaSelector: what one question sends about a 1,000-table warehouse stays small and useful."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import replace

import pytest

from airflow_aimod.core.budget import estimate_tokens
from airflow_aimod.core.prompts import sql_messages
from airflow_aimod.core.schema import Catalog, Column, ForeignKey, Table
from airflow_aimod.core.schema_select import SchemaSelector, words
from tests.support.synthetic import wide_tables
from airflow_aimod.exceptions import ConfigurationError

PROMPT_LIMIT = 4000


def col(name: str, type_: str = "TEXT", *, pk: bool = False, samples: tuple = ()) -> Column:
    return Column(name, type_, nullable=not pk, primary_key=pk, samples=samples,
                  distinct_count=len(samples) if samples else None)


def fk(column: str, table: str, ref: str | None = None) -> ForeignKey:
    return ForeignKey(column, table, ref or column)


RETAIL = (
    Table("customers", (col("customer_id", "INTEGER", pk=True), col("first_name"), col("last_name"), col("email"),
                        col("country", samples=("Germany", "France", "United States", "Japan")),
                        col("segment", samples=("consumer", "smb", "enterprise")), col("created_at", "TIMESTAMP"))),
    Table("orders", (col("order_id", "INTEGER", pk=True), col("customer_id", "INTEGER"),
                     col("status", samples=("pending", "paid", "shipped", "cancelled", "refunded")),
                     col("order_date", "DATE"), col("total_amount", "NUMERIC"),
                     col("currency", samples=("EUR", "USD"))),
          foreign_keys=(fk("customer_id", "customers"),)),
    Table("order_items", (col("order_item_id", "INTEGER", pk=True), col("order_id", "INTEGER"),
                          col("product_id", "INTEGER"), col("quantity", "INTEGER"), col("unit_price", "NUMERIC"),
                          col("discount", "NUMERIC")),
          foreign_keys=(fk("order_id", "orders"), fk("product_id", "products"))),
    Table("products", (col("product_id", "INTEGER", pk=True), col("product_name"), col("category_id", "INTEGER"),
                       col("supplier_id", "INTEGER"), col("list_price", "NUMERIC"), col("sku")),
          foreign_keys=(fk("category_id", "categories"), fk("supplier_id", "suppliers"))),
    Table("categories", (col("category_id", "INTEGER", pk=True),
                         col("category_name", samples=("Electronics", "Books", "Garden", "Toys")),
                         col("parent_category_id", "INTEGER"))),
    Table("suppliers", (col("supplier_id", "INTEGER", pk=True), col("supplier_name"), col("country"),
                        col("contact_email"))),
    Table("payments", (col("payment_id", "INTEGER", pk=True), col("order_id", "INTEGER"),
                       col("method", samples=("credit_card", "paypal", "bank_transfer")), col("amount", "NUMERIC"),
                       col("paid_at", "TIMESTAMP")),
          foreign_keys=(fk("order_id", "orders"),)),
    Table("shipments", (col("shipment_id", "INTEGER", pk=True), col("order_id", "INTEGER"),
                        col("carrier", samples=("DHL", "UPS", "FedEx")), col("shipped_at", "TIMESTAMP"),
                        col("delivered_at", "TIMESTAMP")),
          foreign_keys=(fk("order_id", "orders"),)),
    Table("employees", (col("employee_id", "INTEGER", pk=True), col("first_name"), col("last_name"),
                        col("department_id", "INTEGER"), col("hire_date", "DATE"), col("salary", "NUMERIC"),
                        col("manager_id", "INTEGER")),
          foreign_keys=(fk("department_id", "departments"), fk("manager_id", "employees", "employee_id"))),
    Table("departments", (col("department_id", "INTEGER", pk=True),
                          col("department_name", samples=("Sales", "Engineering", "Finance", "Support")),
                          col("location"))),
    Table("product_reviews", (col("review_id", "INTEGER", pk=True), col("product_id", "INTEGER"),
                              col("customer_id", "INTEGER"), col("rating", "INTEGER"), col("review_text"),
                              col("created_at", "TIMESTAMP")),
          foreign_keys=(fk("product_id", "products"), fk("customer_id", "customers"))),
    Table("warehouses", (col("warehouse_id", "INTEGER", pk=True), col("warehouse_name"),
                         col("city", samples=("Berlin", "Lyon", "Austin")), col("country"))),
    Table("inventory_levels", (col("product_id", "INTEGER", pk=True), col("warehouse_id", "INTEGER", pk=True),
                               col("quantity_on_hand", "INTEGER"), col("updated_at", "TIMESTAMP")),
          foreign_keys=(fk("product_id", "products"), fk("warehouse_id", "warehouses"))),
)

SAMPLES = {"status": ("open", "closed", "pending"), "channel": ("email", "web", "phone"),
           "priority": ("low", "medium", "high"), "stage": ("new", "qualified", "won", "lost"),
           "currency": ("EUR", "USD", "GBP"), "device": ("mobile", "desktop")}


def warehouse(seed: int = 7) -> Catalog:
    """About 1,000 generated tables (domains x entities x variants, FK chains) plus the retail tables."""
    rnd = random.Random(seed)
    tables = list(RETAIL)
    for name, spec in wide_tables():
        columns, keys = [], []
        for column, references in spec:
            if column == "id":
                columns.append(col("id", "INTEGER", pk=True))
            elif references:
                columns.append(col(column, "INTEGER"))
                keys.append(ForeignKey(column, references, "id"))
            elif column in ("created_at", "updated_at"):
                columns.append(col(column, "TIMESTAMP"))
            else:
                samples = SAMPLES.get(column, ())
                columns.append(col(column, "TEXT" if samples or rnd.random() < 0.5 else "NUMERIC", samples=samples))
        tables.append(Table(name, tuple(columns), foreign_keys=tuple(keys)))
    return Catalog("postgres", tuple(tables))


QUESTIONS = {
    "What is the total revenue by customer country?": {"customers", "orders"},
    "How many orders were shipped last month?": {"orders"},
    "Top 5 products by quantity sold": {"products", "order_items"},
    "Average salary per department": {"employees", "departments"},
    "Which suppliers sell products in the Electronics category?": {"suppliers", "products", "categories"},
    "Total amount of payments made by credit card": {"payments"},
    "Customers who never placed an order": {"customers", "orders"},
    "Revenue per product category": {"categories", "products", "order_items"},
    "Average review rating per product": {"product_reviews", "products"},
    "Quantity on hand per warehouse city": {"inventory_levels", "warehouses"},
    "Orders shipped with DHL by customer segment": {"shipments", "orders", "customers"},
}


@pytest.fixture(scope="module")
def big() -> Catalog:
    catalog = warehouse()
    assert len(catalog.tables) >= 1000
    return catalog


@pytest.fixture(scope="module")
def selector() -> SchemaSelector:
    return SchemaSelector()


def joined(catalog: Catalog, names: set[str]) -> bool:
    """Whether ``names`` are connected through foreign keys among the selected tables only."""
    edges: dict[str, set[str]] = {}
    for t in catalog.tables:
        for f in t.foreign_keys:
            edges.setdefault(t.name, set()).add(f.ref_table)
            edges.setdefault(f.ref_table, set()).add(t.name)
    start = next(iter(names))
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return names <= seen


@pytest.mark.parametrize("question", list(QUESTIONS))
def test_needed_tables_with_join_path_under_budget(big, selector, question):
    chosen = selector.select(question, big)
    names = {t.name for t in chosen.tables}
    assert QUESTIONS[question] <= names, (question, names)
    assert joined(chosen, QUESTIONS[question]), (question, [(t.name, t.foreign_keys) for t in chosen.tables])
    assert len(chosen.tables) <= selector.max_tables
    tokens = estimate_tokens(selector.render(chosen))
    assert tokens <= selector.max_tokens < PROMPT_LIMIT
    # the whole prompt the SQL agent sends (system + question + schema JSON) is bounded too
    prompt = sql_messages(question, chosen.to_dict(), dialect="postgres", today="2025-01-15").messages
    assert selector.render(chosen) in prompt[1][1]
    assert sum(estimate_tokens(text) for _, text in prompt) < PROMPT_LIMIT


def test_the_full_catalog_would_not_fit(big, selector):
    assert estimate_tokens(selector.render(big)) > 100 * PROMPT_LIMIT


def test_keys_and_matched_columns_survive_trimming(big):
    tight = SchemaSelector(max_tokens=700)
    chosen = tight.select("Revenue per product category", big)
    assert estimate_tokens(tight.render(chosen)) <= 700
    products = chosen.table("products")
    assert products is not None
    assert {"product_id", "category_id"} <= {c.name for c in products.columns}
    assert all(t.column(f.column) for t in chosen.tables for f in t.foreign_keys)
    refs = {(f.ref_table, f.ref_column) for t in chosen.tables for f in t.foreign_keys}
    assert all(chosen.table(table) is not None and chosen.table(table).column(column) for table, column in refs)


def test_foreign_keys_to_unselected_tables_are_dropped(big, selector):
    chosen = selector.select("Average salary per department", big)
    names = {t.name for t in chosen.tables}
    assert all(f.ref_table in names for t in chosen.tables for f in t.foreign_keys)


def test_small_catalogs_are_returned_whole(selector):
    small = Catalog("sqlite", RETAIL[:5])
    assert estimate_tokens(selector.render(small)) <= selector.max_tokens
    assert selector.select("anything at all", small) == small
    assert selector.select("Average salary per department", small) == small


def test_nothing_matching_returns_a_few_tables_never_the_catalog(big, selector):
    for question in ("What is the weather on Mars?", "zzz qqq", ""):
        assert len(selector.select(question, big).tables) <= 3
    weak = selector.select("Which shipping carriers are slowest?", big)  # only prefix matches (shipment)
    assert 0 < len(weak.tables) <= 3


def test_selection_is_deterministic(big, selector):
    shuffled = list(big.tables)
    random.Random(1).shuffle(shuffled)
    other = replace(big, tables=tuple(shuffled))
    for question in QUESTIONS:
        first = selector.select(question, big)
        assert selector.select(question, big) == first
        assert selector.render(selector.select(question, other)) == selector.render(first)


def test_max_tables_is_respected(big):
    narrow = SchemaSelector(max_tables=2)
    for question in QUESTIONS:
        assert len(narrow.select(question, big).tables) <= 2


def test_fit_trims_samples_added_after_selection(big):
    selector = SchemaSelector(max_tokens=1500)
    chosen = selector.select("Orders shipped with DHL by customer segment", big)
    flooded = replace(chosen, tables=tuple(
        replace(t, columns=tuple(replace(c, samples=tuple(f"value number {i} of {c.name}" for i in range(30)))
                                 if c.kind == "text" else c for c in t.columns))
        for t in chosen.tables))
    assert estimate_tokens(selector.render(flooded)) > selector.max_tokens
    fitted = selector.fit("Orders shipped with DHL by customer segment", flooded)
    assert estimate_tokens(selector.render(fitted)) <= selector.max_tokens
    assert [t.name for t in fitted.tables] == [t.name for t in chosen.tables]


def test_columns_per_table_are_capped():
    wide = Table("wide_orders", tuple(col(f"attribute_{i}") for i in range(200)) + (col("order_total", "NUMERIC"),))
    catalog = Catalog("sqlite", (wide,) + tuple(Table(f"filler_{i}", (col("id", "INTEGER", pk=True), col("x")))
                                                for i in range(400)))
    chosen = SchemaSelector(max_columns_per_table=10).select("order total", catalog)
    table = chosen.table("wide_orders")
    assert len(table.columns) == 10 and table.column("order_total") is not None


def test_same_table_names_in_two_schemas_resolve_within_their_schema():
    def schema(name: str) -> tuple[Table, ...]:
        return (Table("orders", (col("order_id", "INTEGER", pk=True), col("customer_id", "INTEGER")), schema=name,
                      foreign_keys=(fk("customer_id", "customers"),)),
                Table("customers", (col("customer_id", "INTEGER", pk=True), col("region")), schema=name))
    fillers = tuple(Table(f"t{i}", (col("id", "INTEGER", pk=True), col("payload")), schema="x") for i in range(300))
    catalog = Catalog("postgres", schema("eu") + schema("us") + fillers)
    chosen = SchemaSelector(max_tables=2).select("orders by customer region", catalog)
    assert len({t.schema for t in chosen.tables}) == 1 and {t.name for t in chosen.tables} == {"orders", "customers"}


def test_words():
    assert words("customerOrderID") == ("customer", "order", "id")
    assert words("order_items") == ("order", "item")
    assert words("How many categories, boxes and addresses?") == ("category", "box", "address")
    assert words("status analysis sales") == ("status", "analysis", "sale")


def test_bad_settings_are_configuration_errors():
    for kwargs in ({"max_tables": 0}, {"max_tokens": -1}, {"max_columns_per_table": 1.5}):
        with pytest.raises(ConfigurationError):
            SchemaSelector(**kwargs)
