"""OpenLineage input datasets of an agent task: the tables its run read (``outcome["tables_read"]``).

The namespace comes from the connection as common-sql's operators do (the hook's
``get_openlineage_database_info``: ``postgres://host:port``, names ``database.schema.table``); a SQLite
connection has none, so its namespace is ``sqlite://`` + the database file's absolute path and names are
table names. Needs ``apache-airflow-providers-openlineage`` (the ``openlineage`` extra); only the
OpenLineage listener calls this, after the task succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def input_lineage(conn_id: str | None, tables: Sequence[str]) -> Any:
    """``OperatorLineage`` with one input ``Dataset`` per table read on ``conn_id``."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    if not conn_id or not tables:
        return OperatorLineage()
    namespace, qualify = _naming(conn_id)
    return OperatorLineage(inputs=[Dataset(namespace=namespace, name=qualify(t)) for t in tables])


def _naming(conn_id: str) -> tuple[str, Any]:
    """The dataset namespace of ``conn_id`` and how a parsed table name becomes a dataset name."""
    from airflow_aimod.hooks.warehouse import get_connection

    conn = get_connection(conn_id)
    if (conn.conn_type or "").lower() == "sqlite":
        return f"sqlite://{os.path.abspath(conn.host or '')}", lambda table: table
    hook = conn.get_hook()
    info = hook.get_openlineage_database_info(conn)
    if info is None:
        return f"{conn.conn_type}://{conn.host or ''}", lambda table: table
    database = info.database or conn.schema or ""
    schema = hook.get_openlineage_default_schema() or ""
    namespace = f"{info.scheme}://{info.authority}" if info.authority else f"{info.scheme}://"

    def qualify(table: str) -> str:
        parts = table.split(".")
        if len(parts) == 1 and schema:
            parts = [schema, *parts]
        return ".".join([database, *parts] if database and len(parts) < 3 else parts)

    return namespace, qualify
