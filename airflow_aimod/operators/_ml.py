"""MlAgentOperator: the base of agents that read a warehouse and an MLflow tracking store / registry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_aimod.operators._warehouse import WarehouseAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_aimod.core.executors.base import ReadOnlyExecutor
    from airflow_aimod.core.ml.tracking import MlflowTracker


@dataclass(frozen=True)
class MlResources:
    """What an ML agent's graph works with: a read-only executor (or None), its dialect, the MLflow tracker, and
    (for a task that takes over an upstream fit) that fit's result."""

    executor: ReadOnlyExecutor | None
    tracker: MlflowTracker
    dialect: str = "sqlite"
    fitted: dict[str, Any] | None = None


class MlAgentOperator(WarehouseAgentOperator):
    """``open_resources`` opens the warehouse as ``WarehouseAgentOperator`` does and resolves ``mlflow_conn_id``
    (``None``: the embedded SQLite store under the AiMod home) through ``AimodMlflowHook``."""

    mlflow_conn_id: str | None = None

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[Any]:
        from airflow_aimod.hooks.mlflow import AimodMlflowHook

        tracker = AimodMlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_tracker()
        with super().open_resources(context) as warehouse:
            yield MlResources(warehouse.executor, tracker, warehouse.dialect)
