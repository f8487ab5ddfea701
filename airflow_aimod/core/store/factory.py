"""``open_store``: the AiMod store implementation for a URL (the one module that knows them all)."""

from __future__ import annotations

from airflow_aimod.core.store.base import SCHEMES, EventStore
from airflow_aimod.core.store.postgres import PostgresEventStore
from airflow_aimod.core.store.sqlite import SQLiteEventStore
from airflow_aimod.exceptions import ConfigurationError


def open_store(url: str) -> EventStore:
    """The store for ``url``: ``sqlite:////abs/path.sqlite``, ``memory://`` or ``postgresql://...``."""
    if url.startswith(("sqlite:///", "memory://")):
        return SQLiteEventStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEventStore(url)
    raise ConfigurationError(f"unsupported AiMod store URL {url!r}: set [aimod] store_url to one of "
                             f"{', '.join(SCHEMES)} (e.g. sqlite:////opt/airflow/aimod/store.sqlite)")
