"""``AirflowTaskStates``: agent task instances as Airflow's metadata DB has them, for the dashboard.

The page's numbers are the store's outcomes reconciled with these states (``core.store.reconcile``):
a task Airflow failed is never green, and "waiting for a person" means a HITL request Airflow holds
with no answer yet. Agent tasks are found by operator class (every ``AgentOperator`` subclass this
package defines) and, for tasks the store has outcomes for, by key whatever their class.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from airflow_aimod.core.store.reconcile import TaskKey, TaskState

UNFINISHED = ("running", "queued", "scheduled", "deferred", "up_for_reschedule", "restarting", "awaiting_input",
              "up_for_retry")
_CHUNK = 200


def agent_operator_names() -> dict[str, str]:
    """Operator class name → agent name, for every agent operator of this package."""
    import importlib
    import pkgutil

    import airflow_aimod.operators as package
    from airflow_aimod.operators.base import AgentOperator

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    found, todo = {}, list(AgentOperator.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if getattr(cls, "agent_name", None):
            found[cls.__name__] = cls.agent_name
    return found


class AirflowTaskStates:
    """Reads task instances (and their HITL requests) with Airflow's ORM; ``session_factory`` for tests."""

    def __init__(self, *, operators: dict[str, str] | None = None, session_factory: Any = None) -> None:
        self._operators = operators
        self._session_factory = session_factory

    @property
    def operators(self) -> dict[str, str]:
        if self._operators is None:
            self._operators = agent_operator_names()
        return self._operators

    def in_window(self, *, window: float, now: float, dag_ids: Collection[str] | None,
                  states: Collection[str] | None = None) -> list[TaskState]:
        from sqlalchemy import and_, or_

        from airflow.models.taskinstance import TaskInstance as TI

        if dag_ids is not None and not dag_ids:
            return []
        since, until = (_dt(now - window), _dt(now))
        where = [TI.operator.in_(sorted(self.operators)),
                 or_(and_(TI.end_date > since, TI.end_date <= until), TI.state.in_(UNFINISHED))]
        if dag_ids is not None:
            where.append(TI.dag_id.in_(sorted(dag_ids)))
        if states is not None:
            where.append(TI.state.in_(sorted(states)))
        return self._select(where)

    def for_keys(self, keys: Collection[TaskKey]) -> list[TaskState]:
        from sqlalchemy import tuple_

        from airflow.models.taskinstance import TaskInstance as TI

        keys, found = sorted(keys), []
        for i in range(0, len(keys), _CHUNK):
            found += self._select([tuple_(TI.dag_id, TI.run_id, TI.task_id, TI.map_index).in_(keys[i:i + _CHUNK])])
        return found

    def _select(self, where: list[Any]) -> list[TaskState]:
        from sqlalchemy import select

        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance as TI

        query = (select(TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.state, TI.start_date, TI.end_date,
                        TI.try_number, TI.operator, HITLDetail.created_at, HITLDetail.responded_at)
                 .outerjoin(HITLDetail, HITLDetail.ti_id == TI.id).where(*where))
        with self._session() as session:
            rows = session.execute(query).all()
        return [self._state(*row) for row in rows]

    def _state(self, dag_id, run_id, task_id, map_index, state, start, end, try_number, operator, asked,
               answered) -> TaskState:
        state = str(getattr(state, "value", state) or "none")
        waiting = asked is not None and answered is None and state in ("awaiting_input", "deferred")
        return TaskState(dag_id=dag_id, run_id=run_id, task_id=task_id, state=state,
                         agent=self.operators.get(operator or "", ""), start=_ts(start), end=_ts(end),
                         try_number=int(try_number or 0), map_index=int(map_index),
                         waiting_since=_ts(asked) if waiting else None)

    def _session(self) -> Any:
        if self._session_factory is not None:
            return self._session_factory()
        from airflow.utils.session import create_session

        return create_session()


def _dt(epoch: float) -> datetime:
    from datetime import timezone

    return datetime.fromtimestamp(epoch, timezone.utc)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None
