"""WarehouseAgentOperator: the base of agents that read a warehouse through a read-only executor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class WarehouseAgentOperator(AgentOperator):
    """``execute`` opens a read-only executor on ``conn_id`` for the graph (``self._executor``) and
    learns the SQL dialect from the connection type; it is closed when the task ends or parks."""

    conn_id: str | None = None
    _executor: Any = None
    _dialect: str | None = None

    def needs_warehouse(self) -> bool:
        """Whether this task reads the warehouse (subclasses with an optional data source override it)."""
        return bool(self.conn_id)

    def dialect(self) -> str:
        return self._dialect or "sqlite"

    def execute(self, context: Context) -> dict[str, Any]:
        if not self.needs_warehouse():
            return super().execute(context)
        from airflow_aimod.hooks.warehouse import dialect_for, get_connection, open_readonly_executor

        self._dialect = dialect_for(get_connection(self.conn_id).conn_type)
        with open_readonly_executor(self.conn_id) as executor:
            self._executor = executor
            return super().execute(context)
