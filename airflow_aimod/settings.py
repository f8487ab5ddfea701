"""The ``[aimod]`` section of Airflow's configuration, read in one place.

Each setting falls back to an embedded default under ``$AIRFLOW_HOME/aimod/`` so a
single-machine set-up needs no configuration at all.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
SINGLE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})
_warned: set[str] = set()


def aimod_setting(key: str) -> str:
    """``[aimod] key`` stripped, or ``""`` when unset."""
    from airflow.configuration import conf

    return (conf.get("aimod", key, fallback="") or "").strip()


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
                    "[aimod] %s to a postgresql:// URL.", url[len("sqlite:///"):], setting,
                    ", ".join(distributed), setting)
    return url


def distributed_executors(executor_setting: str) -> list[str]:
    """The executors of ``[core] executor`` (a comma-separated list, aliases allowed) that run tasks on
    other machines: anything but the single-machine ones."""
    names = [part.split(":")[-1].strip().rsplit(".", 1)[-1] for part in executor_setting.split(",")]
    return [name for name in names if name and name not in SINGLE_MACHINE_EXECUTORS]
