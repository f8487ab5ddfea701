"""What the agents learn from outside the request: the warehouse's words and verified examples.

Shared by the operators and the CLI. Examples live in the AiMod store; when the store is off
(``[aimod] store_url = off``) the agents simply work without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

_SAMPLE_DEADLINE_S = 10.0  # stored values for routing: sampling stops quietly after this


def open_examples(*, required: bool = True) -> Any:
    """The ``ExampleStore`` of the configured AiMod store (None when it is off and not ``required``)."""
    from airflow_aimod.core.examples import ExampleStore
    from airflow_aimod.observability.sinks import shared_store, store_url

    url = store_url()
    if url is None:
        if not required:
            return None
        raise ConfigurationError("the AiMod store is off ([aimod] store_url): set it to keep verified examples")
    return ExampleStore(shared_store(url))


def live_catalog(conn_id: str, *, samples: bool = False) -> Any:
    """The catalog (tables, columns, keys) of the database behind ``conn_id``; with ``samples``, also the
    values of its low-cardinality text columns (never of a declared PII column; bounded by a deadline)."""
    from airflow_aimod.hooks.warehouse import open_readonly_executor

    with open_readonly_executor(conn_id) as executor:
        catalog = executor.catalog()
        return executor.with_samples(catalog, timeout_s=_SAMPLE_DEADLINE_S) if samples else catalog


def sql_examples(conn_id: str) -> Callable[[str], list[dict[str, str]]]:
    """question → the closest verified SQL examples for ``conn_id`` (for ``SqlAgentTools(examples=...)``)."""
    from airflow_aimod.core.examples import ExampleIndex

    store = open_examples(required=False)
    stored = store.list(agent="sql_agent", conn_id=conn_id) if store is not None else []
    index = ExampleIndex([e.question for e in stored])
    return lambda question: [{"question": stored[i].question, "sql": stored[i].answer}
                             for i, _ in index.search(question, 3)]


def router_knowledge(conn_id: str, agents: list[dict[str, Any]] | None = None
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    """The router's agents taught by the verified examples of ``conn_id``, and the warehouse's words."""
    from airflow_aimod.core.examples import teach_router
    from airflow_aimod.core.registry import routing_catalog
    from airflow_aimod.core.schema_words import schema_words

    store = open_examples(required=False)
    examples = (store.list(agent="task_router") + store.list(agent="sql_agent", conn_id=conn_id)) if store else []
    return teach_router(agents or routing_catalog(), examples), schema_words(
        live_catalog(conn_id, samples=True).to_dict())
