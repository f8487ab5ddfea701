"""Where a task's events and outcome go, from ``[aimod]`` config.

``[aimod] store_url``: ``sqlite:////abs/path`` (default ``$AIRFLOW_HOME/aimod/store.sqlite``),
``postgresql://...``, or ``off``; or ``[aimod] store_conn_id``, a postgres Airflow connection.
``[aimod] price_table``: JSON ``{"model": {"input_per_1k": x, "output_per_1k": y}}`` for the cost of each run.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("airflow_aimod.store")
DISABLED = ("off", "none", "false", "disabled")


def store_url() -> str | None:
    """The configured store URL (``[aimod] store_conn_id`` or ``store_url``), the embedded default, or None
    when set to ``off``."""
    from airflow_aimod.settings import configured_url, embedded_sqlite_url

    url = configured_url("store_url", "store_conn_id")
    if url.lower() in DISABLED:
        return None
    return url or embedded_sqlite_url("store.sqlite", setting="store_url")


def price_table() -> Any:
    """``[aimod] price_table`` as a ``PriceTable`` (empty when unset)."""
    from airflow_aimod.core.store.pricing import PriceTable
    from airflow_aimod.settings import aimod_setting

    return PriceTable.from_mapping(aimod_setting("price_table") or None)


@functools.lru_cache(maxsize=4)
def shared_store(url: str) -> Any:
    """One store (one connection) per URL per process."""
    from airflow_aimod.core.store import open_store

    return open_store(url)


def event_sinks(context: Mapping[str, Any] | None = None) -> list[Any]:
    """[LogSink, StatsSink, StoreSink, OtelSink] for a task (the store sink only when a store is configured,
    the OpenTelemetry one only when ``[traces] otel_on``)."""
    from airflow_aimod.core.store import StoreSink
    from airflow_aimod.core.tracing import LogSink
    from airflow_aimod.observability.stats import StatsSink

    sinks: list[Any] = [LogSink(), StatsSink()]
    if url := store_url():
        sinks.append(StoreSink(shared_store(url), **_scope(context)))
    from airflow_aimod.observability.otel import OtelSink, tracing_on

    if tracing_on():
        sinks.append(OtelSink())
    return sinks


def record_run(context: Mapping[str, Any] | None, out: Mapping[str, Any], *,
               events: Iterable[Mapping[str, Any]] = (), ended_at: float | None = None, request: str = "",
               metrics: bool = True) -> Any:
    """Record a finished (or paused, or just started) run's outcome in the store (and, with ``metrics``, as
    metrics); never raises."""
    from airflow_aimod.core.redaction import scrub, scrub_data
    from airflow_aimod.core.store import Outcome
    from airflow_aimod.observability.stats import StatsSink

    try:
        out = scrub_data(out)  # a stored outcome never holds a secret, whoever built it
        ended = time.time() if ended_at is None else ended_at
        model = _model(events)
        usage = out.get("token_usage") or {}
        cost = price_table().cost(model, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
        outcome = Outcome.from_run(out, started_at=min(_started(context, ended), ended), ended_at=ended,
                                   model=model, cost=cost or 0.0, request=scrub(request)[:500],
                                   map_index=_map_index(context), **_scope(context, blank=""))
        if metrics:
            StatsSink().outcome(outcome)
        if url := store_url():
            shared_store(url).record_outcome(outcome)
        return outcome
    except Exception as exc:  # the run's result matters more than its telemetry
        log.warning("AiMod outcome of trace %s was not recorded: %s", out.get("trace_id"), scrub(str(exc)))
        return None


def _scope(context: Mapping[str, Any] | None, blank: str | None = None) -> dict[str, Any]:
    ti = (context or {}).get("ti")
    return {key: getattr(ti, key, blank) or blank for key in ("dag_id", "run_id", "task_id")}


def _map_index(context: Mapping[str, Any] | None) -> int:
    value = getattr((context or {}).get("ti"), "map_index", -1)
    return value if isinstance(value, int) else -1


def _started(context: Mapping[str, Any] | None, default: float) -> float:
    start = getattr((context or {}).get("ti"), "start_date", None)
    return start.timestamp() if hasattr(start, "timestamp") else default


def _model(events: Iterable[Mapping[str, Any]]) -> str:
    """The model of the run's last LLM call ('' when it made none)."""
    models = [(e.get("data") or {}).get("model") for e in events if e.get("kind") == "llm_call"]
    return str(next((m for m in reversed(models) if m), ""))
