"""An Airflow connection turned into an MLflow tracking URI, a registry and an artifact root.

Three set-ups, one hook:

- **embedded** (no connection): a SQLite backend store ``$AIRFLOW_HOME/aimod/mlflow.db`` and artifacts
  under ``$AIRFLOW_HOME/aimod/mlartifacts`` — one machine only.
- **Postgres backend store**: a ``postgres`` connection (or an ``aimod_mlflow`` connection whose extra
  names ``backend_conn_id``); the URI uses the psycopg 3 driver already installed.
- **a tracking server** (or any URI MLflow accepts): an ``aimod_mlflow`` connection with ``host`` =
  ``http(s)://…`` (login/password sent as MLflow's basic-auth variables are not used: put a token in
  ``password``: that tracker's calls send it as MLflow's bearer token, nothing else in the process does), or
  extra ``tracking_uri``.

Extra ``artifact_root``: where new experiments keep artifacts (any MLflow artifact URI, or a directory).
MLflow itself is imported only when the tracker is used.
"""

from __future__ import annotations

import os
from typing import Any

from airflow_aimod.core.ml.tracking import MlflowTracker
from airflow_aimod.exceptions import ConfigurationError

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow without the task SDK
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

__all__ = ["AimodMlflowHook", "embedded_mlflow"]

CONN_TYPE = "aimod_mlflow"
EXTRA_KEYS = frozenset({"tracking_uri", "backend_conn_id", "artifact_root"})


class AimodMlflowHook(BaseHook):
    """The ``MlflowTracker`` an Airflow connection describes (``mlflow_conn_id=None``: the embedded store)."""

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "aimod_mlflow_default"
    conn_type = CONN_TYPE
    hook_name = "AiMod MLflow"

    def __init__(self, *, mlflow_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    @staticmethod
    def get_ui_field_behaviour() -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port", "login"],
            "relabeling": {"host": "Tracking server URI (optional)", "password": "Tracking token (optional)"},
            "placeholders": {"host": "https://mlflow.example.com",
                             "extra": '{"backend_conn_id": "mlflow_postgres", "artifact_root": "s3://bucket/mlflow"}'},
        }

    def get_tracker(self) -> MlflowTracker:
        """The tracker: tracking/registry URI and artifact root, secrets registered for masking."""
        if not self.mlflow_conn_id:
            return embedded_mlflow()
        conn = _connection(self.mlflow_conn_id)
        kind = (conn.conn_type or "").lower()
        if kind in ("postgres", "postgresql"):
            return MlflowTracker(tracking_uri=_postgres_uri(conn), artifact_root=_default_artifacts())
        if kind not in ("", CONN_TYPE):
            raise ConfigurationError(f"connection {self.mlflow_conn_id!r} has conn type {conn.conn_type!r}; MLflow "
                                     f"needs conn type {CONN_TYPE!r} (a tracking server or URI) or 'postgres' "
                                     f"(a backend store)")
        extra = conn.extra_dejson or {}
        if unknown := sorted(set(extra) - EXTRA_KEYS):
            raise ConfigurationError(f"connection {self.mlflow_conn_id!r}: unknown extra keys {unknown}; "
                                     f"use {', '.join(sorted(EXTRA_KEYS))}")
        sources = [s for s in (conn.host, extra.get("tracking_uri"), extra.get("backend_conn_id")) if s]
        if len(sources) != 1:
            raise ConfigurationError(f"connection {self.mlflow_conn_id!r}: give exactly one of host (a tracking "
                                     f"server), extra tracking_uri or extra backend_conn_id")
        if extra.get("backend_conn_id"):
            uri = _postgres_uri(_connection(extra["backend_conn_id"]))
        else:
            uri = conn.host or extra["tracking_uri"]
        return MlflowTracker(tracking_uri=uri, artifact_root=extra.get("artifact_root") or
                             (_default_artifacts() if not uri.startswith("http") else None), token=conn.password)

    def test_connection(self) -> tuple[bool, str]:
        """List one experiment: the store answers (and its schema is migrated) or the error says why."""
        try:
            self.get_tracker().ping()
        except Exception as exc:  # noqa: BLE001 - reported to the UI, never raised
            from airflow_aimod.core.redaction import scrub

            return False, scrub(f"{type(exc).__name__}: {exc}")[:500]
        return True, "MLflow tracking store reachable"


def embedded_mlflow() -> MlflowTracker:
    """SQLite backend store and local artifacts under ``$AIRFLOW_HOME/aimod`` (one machine)."""
    home = _aimod_home()
    os.makedirs(home, exist_ok=True)
    return MlflowTracker(tracking_uri=f"sqlite:///{home}/mlflow.db", artifact_root=_default_artifacts())


def _aimod_home() -> str:
    from airflow.configuration import conf

    home = os.environ.get("AIRFLOW_HOME") or conf.get("core", "airflow_home", fallback=os.path.expanduser("~/airflow"))
    return os.path.join(os.path.abspath(home), "aimod")


def _default_artifacts() -> str:
    return os.path.join(_aimod_home(), "mlartifacts")


def _postgres_uri(conn: Any) -> str:
    from airflow_aimod.settings import connection_to_url

    if (conn.conn_type or "").lower() not in ("postgres", "postgresql"):
        raise ConfigurationError(f"backend_conn_id must name a postgres connection, not {conn.conn_type!r}")
    return "postgresql+psycopg://" + connection_to_url(conn).removeprefix("postgresql://")


def _connection(conn_id: str) -> Any:
    from airflow_aimod.hooks.warehouse import get_connection

    return get_connection(conn_id)
