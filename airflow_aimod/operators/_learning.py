"""What an approval on Required Actions teaches: operators store it as a verified example.

Called by ``SQLAgentOperator`` (a query a person approved or edited, once it ran) and
``HumanReviewOperator`` (the agent a person picked). The rules live in ``core.examples.learning``;
this module adds the switches (the operator's ``learn_from_approvals`` and ``[aimod]
learn_from_approvals``), the live schema's fingerprint and the store. Learning never fails a task:
when the store is off, full or down, the task's result stands and the log says why nothing was kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def learning_on(flag: bool) -> bool:
    """The operator's ``learn_from_approvals`` and ``[aimod] learn_from_approvals`` (default true) both on."""
    from airflow_aimod.settings import aimod_setting

    return bool(flag) and aimod_setting("learn_from_approvals").lower() not in ("false", "0", "no", "off")


def learn_sql(state: Mapping[str, Any], *, reviewer: str | None, conn_id: str, policy: Any, log: Any) -> str | None:
    """Store the query a person approved in this finished SQL agent run; its example id, or None.

    ``policy`` is the task's ``SqlPolicy``: its PII tables and columns decide what is never kept."""
    from airflow_aimod.core.examples.learning import learned_sql
    from airflow_aimod.core.schema_words import schema_fingerprint
    from airflow_aimod.core.sqlguard import SqlGuard
    from airflow_aimod.operators._knowledge import live_catalog

    try:
        # The whole live schema, as 'aimod examples add' records it; read only for a run that answered.
        catalog = live_catalog(conn_id) if state.get("status") == "answered" else None
        guard = SqlGuard(dialect=catalog.dialect if catalog else "sqlite", max_tables=policy.max_tables,
                         pii_tables=policy.pii_tables, pii_columns=policy.pii_columns)
        example, why = learned_sql(state, reviewer=reviewer, guard=guard, conn_id=conn_id,
                                   schema_fingerprint=schema_fingerprint(catalog.to_dict()) if catalog else "")
        return _keep(example, why, log)
    except Exception as exc:  # noqa: BLE001 - a lesson lost must never fail the task that answered
        log.warning("the approved query was not kept as an example: %s", _one_line(exc))
        return None


def learn_route(request: str, agent: str | None, *, reviewer: str | None, log: Any) -> str | None:
    """Store the agent a person picked for ``request`` as a router example; its id, or None."""
    from airflow_aimod.core.examples.learning import learned_route

    try:
        example, why = learned_route(request, agent, reviewer=reviewer)
        return _keep(example, why, log)
    except Exception as exc:  # noqa: BLE001
        log.warning("the reviewer's pick was not kept as a router example: %s", _one_line(exc))
        return None


def _keep(example: Any, why: str, log: Any) -> str | None:
    from airflow_aimod.operators._knowledge import open_examples

    if example is None:
        log.info("nothing learned from this approval: %s", why)
        return None
    store = open_examples(required=False)
    if store is None:
        log.info("nothing learned from this approval: the AiMod store is off ([aimod] store_url)")
        return None
    example_id = store.add(example)
    log.info("learned %s example %s (%s by %s); revoke it with 'aimod examples remove %s'", example.agent,
             example_id, example.source, example.verified_by, example_id)
    return example_id


def _one_line(exc: BaseException) -> str:
    from airflow_aimod.core.redaction import scrub

    text = (str(exc).strip().splitlines() or [""])[0]
    return scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:300]
