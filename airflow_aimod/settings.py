"""The ``[aimod]`` section of Airflow's configuration, read in one place.

Each setting falls back to an embedded default under ``$AIRFLOW_HOME/aimod/`` so a
single-machine set-up needs no configuration at all. In production the checkpoints and
the store live in Postgres, named by an Airflow connection id (``[aimod] checkpoint_conn_id``,
``[aimod] store_conn_id``) resolved through Airflow's connections and secrets backends, or by
a URL (``[aimod] checkpoint_url``, ``[aimod] store_url``); setting both for one is an error.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import quote, urlencode

from airflow_aimod.exceptions import ConfigurationError

log = logging.getLogger(__name__)
SINGLE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})
_warned: set[str] = set()
POSTGRES_CONN_TYPES = frozenset({"postgres", "postgresql"})
URL_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "options", "application_name", "connect_timeout")


def aimod_setting(key: str) -> str:
    """``[aimod] key`` stripped, else the default declared in ``config_options`` (``""`` unless a
    default is declared); ``key`` must be declared there, so ``airflow config list`` shows everything this package reads."""
    from airflow.configuration import conf

    from airflow_aimod.config_options import OPTIONS, SECTION

    if key not in OPTIONS:
        raise KeyError(f"[{SECTION}] {key} is not declared in airflow_aimod.config_options.OPTIONS")
    return (conf.get(SECTION, key, fallback=OPTIONS[key]["default"]) or "").strip()


def configured_url(url_key: str, conn_key: str) -> str:
    """``[aimod] <conn_key>`` resolved to a ``postgresql://`` URL, else ``[aimod] <url_key>``, else ``""``.

    Setting both is a ConfigurationError: which one wins would be a guess.
    """
    url, conn_id = aimod_setting(url_key), aimod_setting(conn_key)
    if url and conn_id:
        # the redaction patterns compile only here, not whenever a setting is read
        from airflow_aimod.core.redaction import redact_url

        raise ConfigurationError(f"[aimod] {url_key} ({redact_url(url)}) and [aimod] {conn_key} ({conn_id!r}) are "
                                 f"both set: keep one (the connection id is the production choice), unset the other")
    return postgres_url(conn_id, setting=conn_key) if conn_id else url


def postgres_url(conn_id: str, *, setting: str) -> str:
    """The ``postgresql://`` URL of Airflow connection ``conn_id`` (any secrets backend), for ``[aimod] setting``."""
    from airflow_aimod.hooks.warehouse import get_connection

    conn = get_connection(conn_id)
    if (conn.conn_type or "").lower() not in POSTGRES_CONN_TYPES:
        raise ConfigurationError(f"[aimod] {setting} names connection {conn_id!r} of type {conn.conn_type!r}; "
                                 f"it must be a postgres connection (conn_type 'postgres')")
    return connection_to_url(conn)


def connection_to_url(conn: Any) -> str:
    """``postgresql://login:password@host:port/schema?sslmode=...`` from an Airflow connection."""
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    host = conn.host or "localhost"
    netloc = f"{auth}@{host}" if auth else host
    if conn.port:
        netloc += f":{int(conn.port)}"
    extra = conn.extra_dejson or {}
    query = urlencode({key: extra[key] for key in URL_EXTRAS if extra.get(key) not in (None, "")})
    return f"postgresql://{netloc}/{quote(conn.schema or 'postgres', safe='')}" + (f"?{query}" if query else "")



def embedded_sqlite_url(filename: str, *, setting: str) -> str:
    """``sqlite:////…/$AIRFLOW_HOME/aimod/<filename>``: the embedded default of ``[aimod] <setting>``.

    Under a distributed executor it logs, once per process, that the file is local to this worker.
    """
    from airflow.configuration import conf

    home = os.environ.get("AIRFLOW_HOME") or conf.get("core", "airflow_home", fallback=os.path.expanduser("~/airflow"))
    url = f"sqlite:///{os.path.abspath(home)}/aimod/{filename}"
    distributed = distributed_executors(conf.get("core", "executor", fallback=""))
    if distributed and setting not in _warned:
        _warned.add(setting)
        log.warning("AiMod uses the embedded SQLite file %s because [aimod] %s is not set, but the executor is %s: "
                    "that file is local to this worker, so other workers cannot see it (a task paused for approval "
                    "and resumed on another worker would not find what this one wrote). The embedded set-up is for "
                    "one machine; set "
                    "[aimod] %s (a postgres connection id) or [aimod] %s to a postgresql:// URL.",
                    url[len("sqlite:///"):], setting, ", ".join(distributed), _conn_key(setting), setting)
    return url


def report_base_url() -> str:
    """``[aimod] report_url``, else ``file://$AIRFLOW_HOME/aimod/reports``: where reports go by default."""
    from airflow.configuration import conf

    url = aimod_setting("report_url")
    if url:
        return url
    home = os.environ.get("AIRFLOW_HOME") or conf.get("core", "airflow_home", fallback=os.path.expanduser("~/airflow"))
    return f"file://{os.path.join(os.path.abspath(home), 'aimod', 'reports')}"


def _conn_key(url_key: str) -> str:
    """``checkpoint_url`` -> ``checkpoint_conn_id``."""
    return url_key.removesuffix("_url") + "_conn_id"


def distributed_executors(executor_setting: str) -> list[str]:
    """The executors of ``[core] executor`` (a comma-separated list, aliases allowed) that run tasks on
    other machines: anything but the single-machine ones."""
    names = [part.split(":")[-1].strip().rsplit(".", 1)[-1] for part in executor_setting.split(",")]
    return [name for name in names if name and name not in SINGLE_MACHINE_EXECUTORS]
