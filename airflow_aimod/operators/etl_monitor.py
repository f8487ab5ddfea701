"""ETLMonitorOperator: diagnose failed tasks from their logs, and clear the retryable ones after approval."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_aimod.exceptions import ConfigurationError
from airflow_aimod.operators.base import AgentOperator

if TYPE_CHECKING:
    from airflow.sdk import Context
    from langgraph.graph import StateGraph

    from airflow_aimod.core.agents.runtime import AgentRuntime
    from airflow_aimod.core.airflow_api import AirflowApiClient

MAX_LOOKBACK = timedelta(days=31)


class ETLMonitorOperator(AgentOperator):
    """Watch ``dag_ids`` through Airflow's REST API: every task instance that failed in the last ``lookback``
    is diagnosed from its log (exception, last frame, a declared rule: transient, permanent or unknown).

    With ``allow_clear=True`` the transient failures still within the retry budget (the envelope's
    ``max_auto_retries``, 3, counted from Airflow's ``try_number``) are proposed for a clear: that is
    a high-impact action, so the run pauses for a person first — with ``hitl=True`` as one Airflow
    HITL request listing every proposed clear. The monitor never changes schedules or pauses DAGs
    (``airflow.modify_schedule`` is denied by its envelope). The outcome in XCom lists, per failed
    task, ``dag_id, run_id, task_id, try_number, classification, evidence`` and the action taken;
    the status is ``answered`` when nothing is left for a person, ``escalated`` otherwise.

    :param api_conn_id: an Airflow connection (type ``http`` or ``generic``) to the api-server: host
        = its base URL (``http://airflow-api:8080``; or host + schema + port), login/password of a
        user allowed to read DAG runs and clear task instances (the monitor logs in with
        ``POST /auth/token``), or extra ``{"token": "..."}`` for a ready JWT.
    :param dag_ids: the DAGs to watch (templated).
    :param lookback: how far back to look for failed runs (by their end date).
    :param allow_clear: propose clears for retryable failures (default ``False``: report only).
    :param max_failures: most failed task instances diagnosed in one run.
    """

    agent_name = "etl_monitor"
    template_fields: Sequence[str] = (*AgentOperator.template_fields, "api_conn_id", "dag_ids")

    def __init__(self, *, api_conn_id: str, dag_ids: Sequence[str], lookback: timedelta = timedelta(hours=24),
                 allow_clear: bool = False, max_failures: int = 20, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(dag_ids, str) or not dag_ids or not all(isinstance(d, str) and d for d in dag_ids):
            raise ConfigurationError(f"dag_ids must be a non-empty list of DAG ids, got {dag_ids!r}")
        if not isinstance(lookback, timedelta) or not timedelta(0) < lookback <= MAX_LOOKBACK:
            raise ConfigurationError(f"lookback must be a timedelta between 0 and {MAX_LOOKBACK.days} days, "
                                     f"got {lookback!r}")
        if not 1 <= max_failures <= 100:
            raise ConfigurationError(f"max_failures must be between 1 and 100, got {max_failures}")
        if not api_conn_id:
            raise ConfigurationError("api_conn_id is required: a connection to the Airflow api-server")
        self.api_conn_id, self.dag_ids, self.lookback = api_conn_id, list(dag_ids), lookback
        self.allow_clear, self.max_failures = bool(allow_clear), max_failures

    def request_text(self) -> str:
        return f"Monitor {', '.join(self.dag_ids)}: failed tasks in the last {self.lookback}"

    @contextmanager
    def open_resources(self, context: Context) -> Iterator[AirflowApiClient]:
        """A REST client for the api-server whose every call passes this task's envelope first."""
        from airflow_aimod.core.airflow_api import AirflowApiClient
        from airflow_aimod.core.permissions import PermissionValidator

        credentials = api_credentials(self.api_conn_id)
        with AirflowApiClient(credentials, PermissionValidator(self.envelope),
                              timeout_s=self.spec.call_timeout_s) as client:
            yield client

    def build_graph(self, runtime: AgentRuntime, resources: AirflowApiClient, context: Context) -> StateGraph:
        from airflow_aimod.core.agents.etl_monitor import EtlMonitorTools, build_graph

        tools = EtlMonitorTools(resources, dag_ids=self.dag_ids, lookback=self.lookback,
                                allow_clear=self.allow_clear, max_failures=self.max_failures)
        return build_graph(runtime, tools)


def api_credentials(conn_id: str) -> Any:
    """``ApiCredentials`` from an Airflow connection (see ``ETLMonitorOperator``'s ``api_conn_id``)."""
    from airflow_aimod.core.airflow_api import ApiCredentials
    from airflow_aimod.hooks.warehouse import get_connection

    conn = get_connection(conn_id)
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        raise ConfigurationError(f"connection {conn_id!r} has no host: set it to the api-server's base URL, "
                                 "e.g. http://airflow-api:8080")
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "http"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    extra = conn.extra_dejson or {}
    return ApiCredentials(host, username=conn.login or None, password=conn.password or None,
                          token=extra.get("token") or None)
