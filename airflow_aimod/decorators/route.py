"""``@task.route``: the decorated function returns the request; the router classifies it and branches."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.definitions._internal.types import SET_DURING_EXECUTION

from airflow_aimod.operators.router import TaskRouterOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator


class _RouteDecoratedOperator(DecoratedOperator, TaskRouterOperator):
    """``TaskRouterOperator`` whose ``request`` is what ``python_callable`` returns at run time; every other
    argument (``agent_tasks``, ``human_review_task_id``, ``threshold``, ...) passes through."""

    template_fields: Sequence[str] = (*DecoratedOperator.template_fields, *TaskRouterOperator.template_fields)
    custom_operator_name: str = "@task.route"

    def __init__(self, *, python_callable: Callable, op_args: Collection[Any] | None = None,
                 op_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs,
                         request=SET_DURING_EXECUTION, **kwargs)

    def execute(self, context: Context) -> Any:
        from airflow_aimod.decorators._request import call_for_request

        self.request = call_for_request(self, context, decorator=self.custom_operator_name)
        return TaskRouterOperator.execute(self, context)


def route_task(python_callable: Callable | None = None, **kwargs: Any) -> TaskDecorator:
    """Wrap a function returning a request into a router task::

        @task.route(agent_tasks={"sql_agent": "answer"}, human_review_task_id="review")
        def incoming(params=None):
            return params["request"]
    """
    return task_decorator_factory(python_callable=python_callable,
                                  decorated_operator_class=_RouteDecoratedOperator, **kwargs)
