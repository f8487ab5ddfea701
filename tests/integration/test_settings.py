"""The ``[aimod]`` settings: checkpoints and store by connection id or URL; the embedded SQLite defaults
say clearly that they are for one machine."""

from __future__ import annotations

import logging

import pytest

from airflow_aimod import settings
from tests.pg import airflow_connection


@pytest.mark.parametrize(("value", "distributed"), [
    ("LocalExecutor", []),
    ("CeleryExecutor", ["CeleryExecutor"]),
    ("LocalExecutor,KubernetesExecutor", ["KubernetesExecutor"]),
    ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", ["CeleryExecutor"]),
    ("fast:airflow.executors.local_executor.LocalExecutor", []),
])
def test_distributed_executors_are_recognised(value, distributed):
    assert settings.distributed_executors(value) == distributed


class _Records(logging.Handler):
    """Collects the settings logger's records whatever Airflow did to logging's configuration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_logged(monkeypatch):
    monkeypatch.setattr(settings, "_warned", set())
    handler = _Records()
    settings.log.addHandler(handler)
    yield handler.messages
    settings.log.removeHandler(handler)


def test_embedded_default_warns_once_under_a_distributed_executor(monkeypatch, warnings_logged):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    url = settings.embedded_sqlite_url("checkpoints.sqlite", setting="checkpoint_url")
    settings.embedded_sqlite_url("checkpoints.sqlite", setting="checkpoint_url")
    assert url.startswith("sqlite:////") and url.endswith("/aimod/checkpoints.sqlite")
    assert len(warnings_logged) == 1
    message = warnings_logged[0]
    assert "CeleryExecutor" in message and "[aimod] checkpoint_url" in message and "postgresql://" in message


def test_embedded_default_is_quiet_on_one_machine(monkeypatch, warnings_logged):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    settings.embedded_sqlite_url("store.sqlite", setting="store_url")
    assert warnings_logged == []


# -- checkpoints and the store by connection id ------------------------------------------------

CKPT_URL, CKPT_CONN = "AIRFLOW__AIMOD__CHECKPOINT_URL", "AIRFLOW__AIMOD__CHECKPOINT_CONN_ID"
STORE_URL, STORE_CONN = "AIRFLOW__AIMOD__STORE_URL", "AIRFLOW__AIMOD__STORE_CONN_ID"


@pytest.fixture
def aimod_env(monkeypatch):
    """No [aimod] checkpoint/store setting from the session: each test sets its own."""
    for name in (CKPT_URL, CKPT_CONN, STORE_URL, STORE_CONN):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_postgres_connection_becomes_a_url_with_quoted_credentials_and_ssl_options(aimod_env):
    import json

    aimod_env.setenv("AIRFLOW_CONN_AIMOD_META", json.dumps({
        "conn_type": "postgres", "host": "db.internal", "port": 6432, "login": "ai mod", "password": "p@ss:w/rd",
        "schema": "aimod", "extra": {"sslmode": "require", "unrelated": "x"}}))
    aimod_env.setenv(CKPT_CONN, "aimod_meta")
    assert settings.configured_url("checkpoint_url", "checkpoint_conn_id") == (
        "postgresql://ai%20mod:p%40ss%3Aw%2Frd@db.internal:6432/aimod?sslmode=require")


def test_checkpoints_and_store_by_connection_id_reach_a_real_postgres(aimod_env):
    import psycopg

    from airflow_aimod.core.checkpoints import open_checkpointer
    from airflow_aimod.core.store import open_store
    from airflow_aimod.observability.sinks import store_url
    from airflow_aimod.operators._execution import default_checkpoint_url
    from tests.pg import throwaway_database

    with throwaway_database("aimod_settings") as ckpt, throwaway_database("aimod_settings") as store:
        aimod_env.setenv("AIRFLOW_CONN_AIMOD_CKPT", airflow_connection(ckpt))
        aimod_env.setenv("AIRFLOW_CONN_AIMOD_STORE", airflow_connection(store, application_name="aimod-test"))
        aimod_env.setenv(CKPT_CONN, "aimod_ckpt")
        aimod_env.setenv(STORE_CONN, "aimod_store")
        assert default_checkpoint_url() == ckpt
        assert store_url() == store + "?application_name=aimod-test"
        with open_checkpointer(default_checkpoint_url()):
            pass
        store_db = open_store(store_url())
        assert store_db.dialect == "postgres" and store_db.fetch("SELECT count(*) FROM aimod_events") == [(0,)]
        store_db.close()
        with psycopg.connect(ckpt) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"checkpoints", "checkpoint_writes"} <= tables  # the saver set up its tables there


def test_url_settings_keep_working_and_win_over_the_embedded_default(aimod_env):
    from airflow_aimod.observability.sinks import store_url
    from airflow_aimod.operators._execution import default_checkpoint_url

    aimod_env.setenv(CKPT_URL, "postgresql://postgres@127.0.0.1:5432/ckpt")
    aimod_env.setenv(STORE_URL, "off")
    assert default_checkpoint_url() == "postgresql://postgres@127.0.0.1:5432/ckpt"
    assert store_url() is None


def test_unset_means_the_embedded_sqlite_files(aimod_env):
    from airflow_aimod.observability.sinks import store_url
    from airflow_aimod.operators._execution import default_checkpoint_url

    assert default_checkpoint_url().endswith("/aimod/checkpoints.sqlite")
    assert store_url().endswith("/aimod/store.sqlite")


@pytest.mark.parametrize(("url_var", "conn_var", "url_key", "conn_key"), [
    (CKPT_URL, CKPT_CONN, "checkpoint_url", "checkpoint_conn_id"),
    (STORE_URL, STORE_CONN, "store_url", "store_conn_id"),
])
def test_a_url_and_a_connection_id_for_the_same_thing_is_an_error(aimod_env, url_var, conn_var, url_key, conn_key):
    from airflow_aimod.exceptions import ConfigurationError

    aimod_env.setenv(url_var, "postgresql://aimod:secret@db/aimod")
    aimod_env.setenv(conn_var, "aimod_meta")
    with pytest.raises(ConfigurationError) as err:
        settings.configured_url(url_key, conn_key)
    message = str(err.value)
    assert f"[aimod] {url_key}" in message and f"[aimod] {conn_key}" in message and "unset the other" in message
    assert "secret" not in message and "aimod:***@db" in message  # the password is not logged


def test_a_connection_that_is_missing_or_not_postgres_says_what_to_do(aimod_env):
    import json

    from airflow_aimod.exceptions import ConfigurationError

    aimod_env.setenv(STORE_CONN, "aimod_nowhere")
    with pytest.raises(ConfigurationError, match="AIRFLOW_CONN_AIMOD_NOWHERE"):
        settings.configured_url("store_url", "store_conn_id")
    aimod_env.setenv("AIRFLOW_CONN_AIMOD_LITE", json.dumps({"conn_type": "sqlite", "host": "/tmp/x.db"}))
    aimod_env.setenv(STORE_CONN, "aimod_lite")
    with pytest.raises(ConfigurationError, match="must be a postgres connection"):
        settings.configured_url("store_url", "store_conn_id")


def test_the_distributed_warning_names_the_connection_id_setting(monkeypatch, warnings_logged):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    settings.embedded_sqlite_url("store.sqlite", setting="store_url")
    assert "[aimod] store_conn_id" in warnings_logged[0] and "[aimod] store_url" in warnings_logged[0]
