"""What the decorated agent tasks share: calling the user's function for the request."""

from __future__ import annotations

from typing import Any

from airflow_aimod.operators.base import PermanentAgentFailure


def call_for_request(operator: Any, context: Any, *, decorator: str) -> str:
    """Call ``operator.python_callable`` (with its ``op_args``/``op_kwargs`` and the context values it names)
    and return the non-empty string it returned. The text is used as is, never rendered as a template."""
    from airflow.sdk.bases.decorator import determine_kwargs
    from airflow.sdk.definitions.context import context_merge

    context_merge(context, operator.op_kwargs)
    kwargs = determine_kwargs(operator.python_callable, operator.op_args, context)
    value = operator.python_callable(*operator.op_args, **kwargs)
    if not isinstance(value, str) or not value.strip():
        name = getattr(operator.python_callable, "__name__", "the function")
        raise PermanentAgentFailure(f"{decorator}: {name}() must return the request as a non-empty string, "
                                    f"got {type(value).__name__} {str(value)[:80]!r}")
    return value
