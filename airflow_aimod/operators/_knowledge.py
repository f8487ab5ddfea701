"""What the agents learn from outside the request: the warehouse's words and verified examples.

Shared by the operators and the CLI. Examples live in the AiMod store; when the store is off
(``[aimod] store_url = off``) the agents simply work without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

_SAMPLE_DEADLINE_S = 10.0  # stored values for routing: sampling stops quietly after this
_VOCABULARIES: Any = None  # VocabularyCache, made on first use (per connection, schema fingerprint, examples)
_WORDS: dict[tuple[str, str], tuple[list[str], Any]] = {}  # (conn_id, fingerprint) -> words, sampled catalog
_MAX_WORD_SCHEMAS = 32


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


def sql_vocabulary(conn_id: str) -> Callable[..., Any]:
    """(live ``Catalog``, its stored values on demand) → the ``Vocabulary`` the verified SQL examples of
    ``conn_id`` recorded on that schema (same fingerprint) teach; learned once per connection, fingerprint
    and set of examples."""
    store = open_examples(required=False)
    stored = store.list(agent="sql_agent", conn_id=conn_id) if store is not None else []
    return lambda catalog, sampled=None: _vocabulary(conn_id, catalog, stored, sampled)


def _vocabulary(conn_id: str, catalog: Any, stored: list[Any], sampled: Callable[[], Any] | None) -> Any:
    global _VOCABULARIES
    from airflow_aimod.core.examples.vocabulary import VocabularyCache
    from airflow_aimod.core.schema_words import schema_fingerprint

    fingerprint = schema_fingerprint(catalog.to_dict())
    pairs = [(e.question, e.answer) for e in stored if e.schema_fingerprint in ("", fingerprint)]
    _VOCABULARIES = _VOCABULARIES or VocabularyCache()
    return _VOCABULARIES.get(conn_id, fingerprint, pairs, sampled or catalog, dialect=catalog.dialect)


def router_knowledge(conn_id: str, agents: list[dict[str, Any]] | None = None
                     ) -> tuple[list[dict[str, Any]], list[str]]:
    """The router's agents taught by the verified examples of ``conn_id``, and the warehouse's words: its
    names, its stored values (sampled once per schema fingerprint, again when the schema changes) and the
    words its verified SQL examples taught."""
    from airflow_aimod.core.examples import teach_router
    from airflow_aimod.core.registry import routing_catalog

    store = open_examples(required=False)
    examples = (store.list(agent="task_router") + store.list(agent="sql_agent", conn_id=conn_id)) if store else []
    catalog = live_catalog(conn_id)
    words, sampled = _sampled(conn_id, catalog)
    taught = _vocabulary(conn_id, catalog, [e for e in examples if e.agent == "sql_agent"], lambda: sampled).words()
    return teach_router(agents or routing_catalog(), examples), words + taught


def _sampled(conn_id: str, catalog: Any) -> tuple[list[str], Any]:
    """``schema_words`` of ``conn_id`` with its stored values, and the catalog with those values; cached per
    schema fingerprint: values are sampled again only when the tables, columns or types change (or the
    process restarts)."""
    from airflow_aimod.core.schema_words import schema_fingerprint, schema_words

    key = (conn_id, schema_fingerprint(catalog.to_dict()))
    if key not in _WORDS:
        from airflow_aimod.hooks.warehouse import open_readonly_executor

        with open_readonly_executor(conn_id) as executor:
            sampled = executor.with_samples(catalog, timeout_s=_SAMPLE_DEADLINE_S)
        if len(_WORDS) >= _MAX_WORD_SCHEMAS:
            _WORDS.pop(next(iter(_WORDS)))
        _WORDS[key] = (schema_words(sampled.to_dict()), sampled)
    words, sampled = _WORDS[key]
    return list(words), sampled
