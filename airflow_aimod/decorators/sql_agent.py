"""``@task.sql_agent``: the decorated function returns the question; the SQL agent answers it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.definitions._internal.types import SET_DURING_EXECUTION

from airflow_aimod.operators.sql import SQLAgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator


class _SQLAgentDecoratedOperator(DecoratedOperator, SQLAgentOperator):
    """``SQLAgentOperator`` whose ``question`` is what ``python_callable`` returns at run time; every other
    argument (``conn_id``, ``pii_columns``, ``hitl``, ...) passes through to the operator."""

    template_fields: Sequence[str] = (*DecoratedOperator.template_fields, *SQLAgentOperator.template_fields)
    custom_operator_name: str = "@task.sql_agent"

    def __init__(self, *, python_callable: Callable, op_args: Collection[Any] | None = None,
                 op_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs,
                         question=SET_DURING_EXECUTION, **kwargs)

    def execute(self, context: Context) -> Any:
        from airflow_aimod.decorators._request import call_for_request

        self.question = call_for_request(self, context, decorator=self.custom_operator_name)
        return SQLAgentOperator.execute(self, context)


def sql_agent_task(python_callable: Callable | None = None, **kwargs: Any) -> TaskDecorator:
    """Wrap a function returning a question into a SQL agent task::

        @task.sql_agent(conn_id="warehouse", pii_columns=["customers.email"])
        def revenue_question(ds=None):
            return f"What was the revenue on {ds}?"
    """
    return task_decorator_factory(python_callable=python_callable,
                                  decorated_operator_class=_SQLAgentDecoratedOperator, **kwargs)
