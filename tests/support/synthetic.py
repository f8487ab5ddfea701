"""A wide synthetic warehouse layout (about 1,000 tables) for schema-selection tests and benchmarks.

Domains × entities × variants, each entity referencing the one before it in its
domain and each variant referencing its base table, so foreign-key paths are long and
many table names share words with a retail schema on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

DOMAINS = ("sales", "crm", "hr", "finance", "logistics", "marketing", "support", "procurement", "billing",
           "analytics")
ENTITIES = {  # several share words with retail tables on purpose (order, customer, product, shipment)
    "account": ("account_name", "account_type", "region", "opened_at", "balance"),
    "contact": ("full_name", "email", "phone", "job_title", "region"),
    "lead": ("lead_source", "score", "stage", "assigned_to"),
    "opportunity": ("stage", "amount", "close_date", "probability"),
    "invoice": ("invoice_number", "issued_at", "due_at", "amount", "currency", "status"),
    "ticket": ("subject", "priority", "status", "opened_at", "closed_at", "channel"),
    "shipment_event": ("event_type", "location", "occurred_at", "carrier_code"),
    "campaign": ("campaign_name", "channel", "budget", "start_date", "end_date"),
    "budget_line": ("fiscal_year", "cost_center", "amount", "category_code"),
    "ledger_entry": ("entry_date", "debit", "credit", "account_code", "memo"),
    "contract": ("contract_number", "signed_at", "expires_at", "contract_value", "status"),
    "vendor": ("vendor_name", "country", "rating", "payment_terms"),
    "order_event": ("event_type", "occurred_at", "order_ref", "actor"),
    "customer_note": ("note_text", "author", "visibility"),
    "product_feed": ("feed_name", "sku", "price", "availability"),
    "timesheet": ("work_date", "hours", "project_code", "approved"),
    "forecast": ("period", "metric", "forecast_value", "model_version"),
    "refund": ("refund_reason", "amount", "processed_at", "status"),
    "web_session": ("started_at", "ended_at", "device", "country"),
    "kpi_snapshot": ("kpi_name", "kpi_value", "captured_at"),
}
VARIANTS = ("", "_archive", "_daily", "_snapshot", "_staging")


def wide_tables() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """Yield ``(table, [(column, referenced table or None), ...])``; every table's key is ``id``."""
    entities = list(ENTITIES)
    for domain in DOMAINS:
        for i, entity in enumerate(entities):
            base = f"{domain}_{entity}"
            for variant in VARIANTS:
                columns: list[tuple[str, str | None]] = [("id", None)]
                if i:
                    columns.append((f"{entities[i - 1]}_id", f"{domain}_{entities[i - 1]}"))
                if variant:
                    columns.append((f"{entity}_id", base))
                columns += [(c, None) for c in ENTITIES[entity]] + [("created_at", None), ("updated_at", None)]
                yield base + variant, columns
