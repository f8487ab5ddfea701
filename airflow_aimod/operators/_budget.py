"""The budgets an agent task runs under inside Airflow: its DAG run's ledger, its earlier tries, its deadline.

``dag_run_token_budget`` (operator argument, ``default_args`` of a DAG, or ``[aimod]
dag_run_token_budget``) caps the tokens of every agent task of one DAG run together. The
ledger lives in the AiMod store (``[aimod] store_url``), keyed by dag_id + run_id, so it is
shared by every worker; a retried task starts from what its earlier tries spent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

log = logging.getLogger(__name__)


def check_run_budget(value: Any) -> int | None:
    """``value`` as a positive token count or None, or ConfigurationError saying how to fix it."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"dag_run_token_budget must be a positive number of tokens (or unset), got {value!r}")
    return value


def configured_run_budget() -> int | None:
    """``[aimod] dag_run_token_budget`` (unset: no shared limit)."""
    from airflow_aimod.settings import aimod_setting

    raw = aimod_setting("dag_run_token_budget")
    try:
        return check_run_budget(raw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"[aimod] {exc}") from None


@dataclass(frozen=True)
class TaskBudget:
    """What ``run_agent`` hands the runtime: the shared ledger, earlier tries' usage, the deadline."""

    ledger: Any = None
    prior_usage: Mapping[str, int] = field(default_factory=dict)
    deadline: float | None = None


def task_budget(context: Mapping[str, Any], run_limit: int | None, *, plan_task_id: str | None = None) -> TaskBudget:
    """The ledger of this task's DAG run (None when the store is off) and what earlier tries spent.

    ``plan_task_id``: the task runs a step of that task's plan, whose reservation every call draws from.
    """
    from airflow_aimod.core.store.ledger import LedgerScope, TokenLedger
    from airflow_aimod.observability.sinks import shared_store, store_url

    ti = context["ti"]
    deadline = _deadline(ti)
    url = store_url()
    if url is None:
        if run_limit is not None:
            raise ConfigurationError("dag_run_token_budget needs the AiMod store to share the count between tasks: "
                                     "set [aimod] store_url (it is 'off'), or drop dag_run_token_budget")
        log.warning("[aimod] store_url is off: token usage is not carried across retries of %s", ti.task_id)
        return TaskBudget(deadline=deadline)
    key = f"{ti.task_id}[{getattr(ti, 'map_index', -1)}]"
    scope = LedgerScope(ti.dag_id, ti.run_id, key, max(int(getattr(ti, "try_number", 1) or 1), 1))
    if plan_task_id:
        from airflow_aimod.core.store.plan_ledger import PlanReservation, StepLedger

        plan = PlanReservation(shared_store(url), dag_id=ti.dag_id, run_id=ti.run_id, plan_task_id=plan_task_id)
        ledger: TokenLedger = StepLedger(shared_store(url), scope, plan=plan)
    else:
        ledger = TokenLedger(shared_store(url), scope, run_limit=run_limit)
    prior = ledger.earlier_tries()
    if prior:
        log.info("try %d of %s starts with %d tokens its earlier tries spent", scope.try_number, ti.task_id,
                 sum(prior.values()))
    return TaskBudget(ledger=ledger, prior_usage=prior, deadline=deadline)


def _deadline(ti: Any) -> float | None:
    """``time.monotonic()`` at which the task's ``execution_timeout`` kills it (None without one)."""
    timeout = getattr(getattr(ti, "task", None), "execution_timeout", None)
    seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else None
    return time.monotonic() + seconds if seconds else None
