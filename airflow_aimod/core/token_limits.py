"""The shape of a ``token_budget``: an int (every call of the agent task) or task type → tokens.

Checked when a DAG file is parsed (``Envelope``, the registry), so it lives apart from the budget's
run-time accounting (``core.budget``, which re-exports these names).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

__all__ = ["ANY_OTHER", "TOTAL", "check_task_keys", "parse_token_budget"]

TOTAL = "total"
"""``token_budget`` key: a cap on every call of the agent task together."""
ANY_OTHER = "*"
"""``token_budget`` key: the cap of each task type that has no entry of its own."""


def parse_token_budget(value: Any) -> int | dict[str, int] | None:
    """``value`` validated: ``None``, a positive int, or a mapping task type (or total/*) → positive int.

    Only the shape is checked here (an envelope does not know its agent); ``check_task_keys`` checks the
    keys against the task types the agent declares in the registry.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        if not value:
            raise ConfigurationError("token_budget is an empty mapping; give task types → tokens, an int, or None")
        return {str(k): _tokens(v, f"token_budget[{k!r}]") for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, int) and not isinstance(value, bool):
        return _tokens(value, "token_budget")
    raise ConfigurationError(f"token_budget must be a positive int, a mapping of task type to tokens (plus "
                             f"{TOTAL!r} and {ANY_OTHER!r}), or None; got {value!r}")


def check_task_keys(budget: Mapping[Any, Any], task_types: Collection[str], agent: str = "this agent") -> None:
    """Every key of a per-task-type ``budget`` is a task type ``agent`` declares, ``total`` or ``*``."""
    known = set(task_types) | {TOTAL, ANY_OTHER}
    for key in budget:
        if key not in known:
            import difflib  # only on a typo: difflib is not loaded when a DAG file parses

            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(f"unknown task type {key!r} in the token_budget of {agent}.{hint} Known: "
                                     f"{sorted(known)} ({TOTAL!r}: all calls together, {ANY_OTHER!r}: each unlisted "
                                     "task type)")


def _tokens(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"{where} must be a positive number of tokens, got {value!r}")
    return value
