"""The offline demo: a synthetic retail warehouse and a one-command Airflow run (``aimod demo``)."""

from __future__ import annotations
