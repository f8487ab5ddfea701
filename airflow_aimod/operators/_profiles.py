"""The profile an upstream ``DataProfilerOperator`` pushed, for agents that build on it (validator, features)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_aimod.exceptions import ConfigurationError


def upstream_profile(context: Any, task_id: str) -> dict[str, Any]:
    """``result["profile"]`` of task ``task_id``'s outcome in XCom; one clear error when it has none."""
    outcome = context["ti"].xcom_pull(task_ids=task_id)
    profile = ((outcome or {}).get("result") or {}).get("profile") if isinstance(outcome, Mapping) else None
    if not isinstance(profile, Mapping):
        status = outcome.get("status") if isinstance(outcome, Mapping) else None
        raise ConfigurationError(f"task {task_id!r} pushed no profile (status {status!r}); profile_task_id must "
                                 "name an upstream DataProfilerOperator that answered")
    return dict(profile)
