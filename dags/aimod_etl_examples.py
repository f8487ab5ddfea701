"""Two small pipelines that fail, for the ETL monitor (``dags/aimod_etl_monitor.py``) to diagnose.

``aimod_etl_flaky``: ``load_orders`` fails its first try the way a network blip does
(``ConnectionError: connection refused``) and succeeds on any later try, so a monitor that
clears it after approval sees it succeed. ``aimod_etl_broken``: ``transform_orders`` fails
on every try with a ``KeyError`` in user code: retrying cannot help, so the monitor reports it
and leaves it alone. Neither task retries by itself (``retries=0``): the retry is the monitor's call.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG(dag_id="aimod_etl_flaky", schedule=None, start_date=START, catchup=False, tags=["aimod", "example", "etl"],
         default_args={"retries": 0}, doc_md=__doc__):

    @task
    def load_orders(ti=None) -> int:
        """Fails on the first try only, like a source database that was restarting."""
        if ti.try_number <= 1:
            raise ConnectionError("connection refused: could not reach the source database at 10.0.0.7:5432")
        return 42

    load_orders()

with DAG(dag_id="aimod_etl_broken", schedule=None, start_date=START, catchup=False, tags=["aimod", "example", "etl"],
         default_args={"retries": 0}, doc_md=__doc__):

    @task
    def transform_orders() -> int:
        """Fails on every try: the code reads a field the records do not have."""
        record = {"order_id": 1, "amount": 9.5}
        return record["customer_id"]

    transform_orders()
