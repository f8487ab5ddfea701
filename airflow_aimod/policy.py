"""Cluster policy (entry point ``airflow.policy``): agent tasks whose branch targets are not in the DAG
fail the DAG's parse, naming the missing task ids, instead of failing after the model was called.

Airflow calls ``task_policy`` for every task of every DAG it parses (dag-processor, ``airflow dags
list``, ``DagBag``); a DAG file that imports no agent operator costs one dictionary lookup.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow.policies import hookimpl


@hookimpl
def task_policy(task: Any) -> None:
    base = sys.modules.get("airflow_aimod.operators.base")
    if base is None or not isinstance(task, base.AgentOperator):
        return
    from airflow.exceptions import AirflowClusterPolicyViolation

    from airflow_aimod.exceptions import ConfigurationError

    try:
        task.check_branch_targets()
    except ConfigurationError as exc:
        raise AirflowClusterPolicyViolation(f"DAG {task.dag_id}: {exc}") from None
