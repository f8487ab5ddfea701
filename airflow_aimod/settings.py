"""The ``[aimod]`` section of Airflow's configuration, read in one place.

Each setting falls back to an embedded default under ``$AIRFLOW_HOME/aimod/`` so a
single-machine set-up needs no configuration at all.
"""

from __future__ import annotations

import os


def aimod_setting(key: str) -> str:
    """``[aimod] key`` stripped, or ``""`` when unset."""
    from airflow.configuration import conf

    return (conf.get("aimod", key, fallback="") or "").strip()


def embedded_sqlite_url(filename: str) -> str:
    """``sqlite:////…/$AIRFLOW_HOME/aimod/<filename>``: the embedded default of a store."""
    from airflow.configuration import conf

    home = os.environ.get("AIRFLOW_HOME") or conf.get("core", "airflow_home", fallback=os.path.expanduser("~/airflow"))
    return f"sqlite:///{os.path.abspath(home)}/aimod/{filename}"
