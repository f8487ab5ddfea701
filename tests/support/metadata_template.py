"""One migrated Airflow metadata database per test run, copied into each stack's empty database.

``airflow db migrate`` costs ~25 s per stack on two loaded cores (most of it the CLI starting up, not the
migrations); ``CREATE DATABASE ... TEMPLATE`` copies a migrated one in a fraction of a second. The template
is built once per run (by whichever process needs it first, under a Postgres advisory lock, under a
temporary name renamed when complete, so a crash never leaves a half-migrated template behind), named after
the run's owner process and the Airflow version, and dropped when the run ends (or by the next run, when
its owner died).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import tempfile
from importlib.metadata import version

from psycopg import sql

from tests.pg import _drop_stale, admin_connection, database_url

PREFIX = "aimod_airtpl"


def owner_pid() -> int:
    """The process that owns the run: the pytest controller under xdist, else this process."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def template_name(pid: int | None = None) -> str:
    digest = hashlib.sha256(version("apache-airflow").encode()).hexdigest()[:8]
    return f"{PREFIX}_{pid or owner_pid()}_{digest}"


def fill_from_template(url: str, airflow: str) -> bool:
    """Replace the empty database at ``url`` by a copy of the run's migrated template (built with the ``airflow``
    executable when missing). False, touching nothing, when that database already has tables."""
    name = url.rsplit("/", 1)[1]
    with admin_connection() as admin:
        import psycopg

        with psycopg.connect(url, autocommit=True) as target:
            if target.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]:
                return False
        template = template_name()
        admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (PREFIX,))
        try:
            if not _exists(admin, template):
                _build(admin, template, airflow)
            admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                         sql.Identifier(template)))
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (PREFIX,))
    return True


def drop_template(pid: int | None = None) -> None:
    """Drop the run's template (at the end of the run)."""
    with admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template_name(pid))))


def _exists(admin, name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _build(admin, template: str, airflow: str) -> None:
    _drop_stale(admin, PREFIX)
    _drop_stale(admin, f"{PREFIX}_wip")
    building = template.replace(PREFIX, f"{PREFIX}_wip", 1)
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
    with tempfile.TemporaryDirectory(prefix="aimod-airtpl-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                        database_url(building).replace("postgresql://", "postgresql+psycopg://", 1)})
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    if migrate.returncode:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(template)))
    if owner_pid() == os.getpid():  # under xdist the controller drops it (tests/conftest.py)
        atexit.register(drop_template, os.getpid())
