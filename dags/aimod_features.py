"""Features: profile a table, then propose features for a target from that profile and keep those that help.

``profile_table`` profiles the table (types, null rates, distinct counts, quantiles, top values);
``propose_features`` derives candidate SQL expressions from that profile (ratios, logs of skewed columns, date
parts, encodings, null indicators), has the SQL guard check each, reads them once read-only and reports only
those whose cross-validated lift beats the fold noise. Nothing is written to the warehouse.
``airflow_aimod.demo.features.with_shipments_table`` adds ``shipments`` (``cost`` depends on
``weight_kg / volume_l``) to a copy of the demo warehouse. Connections as in ``aimod_quickstart``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.feature_engineer import FeatureEngineerOperator
from airflow_aimod.operators.profiler import DataProfilerOperator

with DAG(
    dag_id="aimod_features",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["aimod", "example", "ml"],
    params={"table": Param("shipments", type="string", minLength=1, maxLength=200),
            "target": Param("cost", type="string", minLength=1, maxLength=200)},
    doc_md=__doc__,
) as dag:
    profile = DataProfilerOperator(task_id="profile_table", table="{{ params.table }}", conn_id="aimod_warehouse")
    features = FeatureEngineerOperator(
        task_id="propose_features",
        profile_task_id="profile_table",
        conn_id="aimod_warehouse",
        target="{{ params.target }}",
        max_rows=20_000,
        max_seconds=240,
    )
    profile >> features
