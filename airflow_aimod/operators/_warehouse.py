"""WarehouseAgentOperator: the base of agents that read a warehouse through a read-only executor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_aimod.core.executors.base import ReadOnlyExecutor


@dataclass(frozen=True)
class Warehouse:
    """What a warehouse agent's graph reads through: a read-only executor and its SQL dialect."""

    executor: ReadOnlyExecutor | None
    dialect: str = "sqlite"


class WarehouseAgentOperator(AgentOperator):
    """``open_resources`` opens a read-only executor on ``conn_id`` for the graph and learns the SQL dialect from
    the connection type; it is closed when the task ends or parks."""

    conn_id: str | None = None

    def needs_warehouse(self) -> bool:
        """Whether this task reads the warehouse (subclasses with an optional data source override it)."""
        return bool(self.conn_id)

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[Warehouse]:
        if not self.needs_warehouse():
            yield Warehouse(None)
            return
        from airflow_aimod.hooks.warehouse import dialect_for, get_connection, open_readonly_executor

        dialect = dialect_for(get_connection(self.conn_id).conn_type)
        with open_readonly_executor(self.conn_id) as executor:
            yield Warehouse(executor, dialect)

    def dialect_of(self, resources: Warehouse) -> str:
        return resources.dialect

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage inputs: the tables the run read, from its result (``tables_read``), on ``conn_id``."""
        from airflow_aimod.operators._lineage import input_lineage

        out = task_instance.xcom_pull(task_ids=self.task_id, key="return_value") or {}
        return input_lineage(self.conn_id if self.needs_warehouse() else None, out.get("tables_read") or ())
