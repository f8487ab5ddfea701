"""The AiMod store the read commands (``trace``, ``health``) open: ``--store-url``, else ``[aimod]`` config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_aimod.cli.output import UsageError, progress


def add_store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store-url", default=None, metavar="URL",
                        help="sqlite:////abs/path.sqlite or postgresql://... (default: [aimod] store_url / "
                             "store_conn_id from Airflow's config, else $AIRFLOW_HOME/aimod/store.sqlite)")


def open_queries(args: argparse.Namespace) -> Any:
    """``DashboardQueries`` on the store; a store that does not exist yet is a usage error, never created."""
    from airflow_aimod.core.redaction import redact_url

    url = args.store_url or _configured_url()
    if url is None:
        raise UsageError("the AiMod store is off ([aimod] store_url = off): pass --store-url URL")
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise UsageError(f"no AiMod store at {redact_url(url)}: no agent has run with this AIRFLOW_HOME yet, "
                         f"or pass --store-url / set [aimod] store_url")
    from airflow_aimod.core.store import DashboardQueries, open_store

    return DashboardQueries(open_store(url))


def _configured_url() -> str | None:
    with progress("reading Airflow's configuration for [aimod] store_url"):
        from airflow_aimod.observability.sinks import store_url

        return store_url()
