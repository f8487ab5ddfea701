"""The ``[aimod]`` settings: the embedded SQLite defaults say clearly that they are for one machine."""

from __future__ import annotations

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


MESSAGE = "AiMod uses the embedded SQLite file"


def test_embedded_default_warns_once_under_a_distributed_executor(monkeypatch, capsys):
    monkeypatch.setattr(settings, "_warned", set())
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    url = settings.embedded_sqlite_url("checkpoints.sqlite", setting="checkpoint_url")
    settings.embedded_sqlite_url("checkpoints.sqlite", setting="checkpoint_url")
    assert url.startswith("sqlite:////") and url.endswith("/aimod/checkpoints.sqlite")
    logged = capsys.readouterr()  # Airflow's structlog writes log records to the console
    lines = [line for line in (logged.out + logged.err).splitlines() if MESSAGE in line]
    assert len(lines) == 1
    assert "CeleryExecutor" in lines[0] and "[aimod] checkpoint_url" in lines[0] and "postgresql://" in lines[0]


def test_embedded_default_is_quiet_on_one_machine(monkeypatch, capsys):
    monkeypatch.setattr(settings, "_warned", set())
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    settings.embedded_sqlite_url("store.sqlite", setting="store_url")
    logged = capsys.readouterr()
    assert MESSAGE not in logged.out + logged.err
