"""Test session set-up: a private Airflow home (SQLite metadata DB) shared by every test.

Environment variables are set before anything imports Airflow, so every test and
every subprocess a test starts sees the same throwaway Airflow home.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOME = Path(tempfile.mkdtemp(prefix="aimod-tests-"))
WAREHOUSE = HOME / "warehouse.db"

os.environ.update({
    "AIRFLOW_HOME": str(HOME / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow' / 'airflow.db'}",
    "AIRFLOW__AIMOD__CHECKPOINT_URL": f"sqlite:///{HOME / 'airflow' / 'aimod' / 'checkpoints.sqlite'}",
    "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(WAREHOUSE)}),
    "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm", "extra": {"backend": "offline"}}),
})
(HOME / "airflow").mkdir(parents=True, exist_ok=True)


# Longest files first. `make test` runs two xdist workers that take whole files in collection order
# (--dist loadfile --no-loadscope-reorder): started first, the long end-to-end stacks overlap each other and the
# quick files fill the gaps, instead of trailing the run one after another (xdist's default puts the files with
# the fewest tests, which are these, last). Measured: each of these takes one to eight minutes.
SLOW_FIRST = (
    "tests/e2e/test_celery.py",
    "tests/e2e/test_training_approval.py",
    "tests/e2e/",
    "tests/integration/test_demo.py",
    "tests/integration/test_demo_rerun.py",
    "tests/integration/test_cli_examples.py",
    "tests/integration/test_benchmarks.py",
    "tests/integration/test_training_task_dag.py",
    "tests/integration/test_ml_cli.py",
    "tests/integration/test_features_dag.py",
)


def _slowness_rank(item: pytest.Item) -> int:
    path = Path(str(item.path)).relative_to(REPO).as_posix()
    return next((rank for rank, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_slowness_rank)  # stable: a file's tests stay together and in their order


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(HOME, ignore_errors=True)
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist): the run is over
        from tests.support.metadata_template import drop_template

        try:
            drop_template()
        except Exception as exc:  # noqa: BLE001 - Postgres gone: the next run drops it as stale
            print(f"could not drop the migrated Airflow template database: {exc}")


@pytest.fixture(scope="session")
def warehouse() -> Path:
    """The demo retail warehouse (SQLite), built once per session."""
    from airflow_aimod.demo.warehouse import build_warehouse

    if not WAREHOUSE.exists():
        build_warehouse(WAREHOUSE)
    return WAREHOUSE


@pytest.fixture(scope="session")
def airflow_db(warehouse) -> Path:
    """A migrated Airflow metadata DB (SQLite) for dag.test()."""
    marker = HOME / "airflow" / ".migrated"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                       env=os.environ.copy())
        marker.touch()
    return HOME / "airflow"


def example_dag(dag_id: str):
    """A DAG parsed from the repository's dags/ folder (which must import without errors)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


@pytest.fixture(scope="session")
def quickstart_dag(airflow_db):
    """The quickstart DAG parsed from the repository's dags/ folder."""
    return example_dag("aimod_quickstart")
