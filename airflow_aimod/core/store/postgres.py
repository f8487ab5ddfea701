"""``PostgresEventStore``: the production store (psycopg 3, one connection, explicit transactions)."""

from __future__ import annotations

from typing import Any

from airflow_aimod.core.redaction import redact_url, scrub
from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.migrations import PG_LOCK_KEY


class PostgresEventStore(EventStore):
    """Store in a Postgres database; the migration lock is a transaction-scoped advisory lock."""

    dialect = "postgres"
    least = "LEAST"
    greatest = "GREATEST"

    def __init__(self, url: str, *, connect_timeout_s: int = 10) -> None:
        super().__init__(url)
        self.connect_timeout_s = connect_timeout_s

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=False, connect_timeout=self.connect_timeout_s)
        except psycopg.OperationalError as exc:
            raise ConnectionError(f"cannot reach the AiMod store at {redact_url(self.url)}: {scrub(str(exc))}; check "
                                  "[aimod] store_url and that the server accepts connections") from exc

    def _lock_schema(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))

    def _lock_key(self, conn: Any, key: int) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def bucket(self, expr: str, origin: float, width: float) -> str:
        return f"CAST(FLOOR(({expr} - {float(origin)!r}) / {float(width)!r}) AS INTEGER)"

