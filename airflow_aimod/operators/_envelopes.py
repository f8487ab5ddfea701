"""Envelope overrides from Airflow configuration: ``[aimod] envelopes``.

A JSON object keyed by agent name, with the fields of ``Envelope.to_dict()``::

    [aimod]
    envelopes = {"sql_agent": {"sql": {"max_tables": 3, "pii_tables": ["customers"]}, "token_budget": 8000},
                 "task_router": {"token_budget": {"route": 3000}}}

Layering: the registry default, then the configuration, then the task's own ``envelope=``
arguments. Read when the DAG is parsed, so a typo fails the parse with what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from airflow_aimod.core.registry import get_agent
from airflow_aimod.exceptions import ConfigurationError


def configured_overrides(agent: str) -> dict[str, Any]:
    """The ``[aimod] envelopes`` entry for ``agent`` (empty when none); every entry is validated."""
    from airflow_aimod.settings import aimod_setting

    raw = aimod_setting("envelopes")
    if not raw:
        return {}
    _check_table(raw)
    return dict(_table(raw).get(agent, {}))


@lru_cache(maxsize=8)
def _check_table(raw: str) -> None:
    """Validate every entry once per distinct setting, not once per task of every DAG file (an error is not
    cached: each task that reads a bad setting fails on it)."""
    table = _table(raw)
    if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
        raise ConfigurationError("[aimod] envelopes must map agent names to objects of envelope fields")
    for name, changes in table.items():
        get_agent(name).envelope_with(changes)  # unknown agents, fields and task types fail here, naming the fix


def _table(raw: str) -> Any:
    """A fresh parse of the setting (the caller may change what it gets)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"[aimod] envelopes is not valid JSON ({exc}); expected "
                                 '{"agent_name": {"field": value, ...}, ...}') from None


def layered(base: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """``task`` over ``base``; a nested ``sql`` policy or per-task-type ``token_budget`` merges key by key."""
    merged = {**base, **task}
    for key in ("sql", "token_budget"):  # per-field policies merge key by key
        if isinstance(base.get(key), Mapping) and isinstance(task.get(key), Mapping):
            merged[key] = {**base[key], **task[key]}
    return merged
