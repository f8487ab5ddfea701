"""The ``[aimod]`` settings: the embedded SQLite defaults say clearly that they are for one machine."""

from __future__ import annotations

import logging

import pytest

from airflow_aimod import settings


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
