"""The agent operator that runs one plan step, built from the step's request and its upstream steps' outcomes.

One builder per agent a step can use (``core.planning.STEP_ACTIONS``). Steps that read upstream steps
(summarizer, report generator, alert manager, schema validator, an anomaly step after a SQL step) get
their task ids; a step of a plan a person approved runs with that approval for the actions the plan
showed (the envelope's ``require_approval`` without them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.exceptions import ConfigurationError

CHECK_AGENTS = frozenset({"data_profiler", "schema_validator", "anomaly_detector"})


@dataclass(frozen=True)
class StepInputs:
    """What a step is built from: the step, its upstream steps (id → task id, agent, outcome), the common args."""

    step: Mapping[str, Any]
    upstream: Mapping[str, tuple[str, str, Mapping[str, Any]]]
    common: Mapping[str, Any]
    conn_id: str | None = None
    alert_channels: Mapping[str, Sequence[str]] | None = None
    approved: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def task_ids(self) -> list[str]:
        return [task_id for task_id, _, _ in self.upstream.values()]

    def of_agent(self, agent: str) -> tuple[str, Mapping[str, Any]] | None:
        """The task id and outcome of the upstream step of ``agent`` (the last one), if any."""
        found = [(task_id, out) for task_id, a, out in self.upstream.values() if a == agent]
        return found[-1] if found else None

    def warehouse(self) -> str:
        if not self.conn_id:
            raise ConfigurationError(f"step {self.step['id']} ({self.step['agent']}) reads the warehouse: give the "
                                     "step tasks conn_id")
        return self.conn_id

    def kwargs(self, agent: str) -> dict[str, Any]:
        """The common arguments, with the plan's approval standing in for the step's approval-gated actions."""
        args = dict(self.common)
        if self.approved:
            from airflow_aimod.core.planning import STEP_ACTIONS
            from airflow_aimod.core.registry import get_agent

            gated = get_agent(agent).envelope.require_approval
            args["envelope"] = {"require_approval": sorted(gated - set(STEP_ACTIONS[agent]))}
        return args


def step_operator(inputs: StepInputs) -> Any:
    """The agent operator for ``inputs.step``; ``ConfigurationError`` for an agent no builder knows."""
    agent = inputs.step["agent"]
    build = BUILDERS.get(agent)
    if build is None:
        raise ConfigurationError(f"step {inputs.step['id']}: {agent!r} cannot run as a plan step")
    return build(inputs)


def _sql(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.sql import SQLAgentOperator

    return SQLAgentOperator(question=inputs.step["request"], conn_id=inputs.warehouse(), **inputs.kwargs("sql_agent"))


def _profile(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.profiler import DataProfilerOperator

    return DataProfilerOperator(request=inputs.step["request"], conn_id=inputs.warehouse(),
                                **inputs.kwargs("data_profiler"))


def _summary(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.summarizer import SummarizerOperator

    ids = inputs.task_ids
    return SummarizerOperator(source=None if ids else inputs.step["request"], source_task_ids=ids,
                              **inputs.kwargs("summarizer"))


def _report(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.report_generator import ReportGeneratorOperator

    agents = {agent for _, agent, _ in inputs.upstream.values()}
    kind = "data_quality" if agents & CHECK_AGENTS else "pipeline_health"
    return ReportGeneratorOperator(kind=kind, source_task_ids=inputs.task_ids, **inputs.extra.get("report", {}),
                                   **inputs.kwargs("report_generator"))


def _alerts(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.alert_manager import AlertManagerOperator

    return AlertManagerOperator(source_task_ids=inputs.task_ids, channels=inputs.alert_channels,
                                **inputs.kwargs("alert_manager"))


def _validate(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.validator import SchemaValidatorOperator

    task_id, outcome = inputs.of_agent("data_profiler") or (None, {})
    table = (outcome.get("result") or {}).get("table")
    if not task_id or not table:
        raise ConfigurationError(f"step {inputs.step['id']} validates what a data_profiler step profiled, and none "
                                 "it depends on did")
    return SchemaValidatorOperator(conn_id=inputs.warehouse(), table=table, profile_task_id=task_id,
                                   **inputs.kwargs("schema_validator"))


def _anomaly(inputs: StepInputs) -> Any:
    from airflow_aimod.operators.anomaly import AnomalyDetectorOperator

    found = inputs.of_agent("sql_agent")
    if found is not None:  # the series is what the SQL step answered
        rows = (found[1].get("result") or {}).get("rows") or []
        return AnomalyDetectorOperator(metric_name=inputs.step["request"], series=_series(rows, inputs.step["id"]),
                                       **inputs.kwargs("anomaly_detector"))
    metric = _daily_metric(inputs.warehouse(), inputs.step["request"])
    return AnomalyDetectorOperator(metric_name=metric.name, metric_sql=metric.sql, conn_id=inputs.warehouse(),
                                   **inputs.kwargs("anomaly_detector"))


def _series(rows: Sequence[Sequence[Any]], step_id: str) -> list[Any]:
    if not rows or len(rows[0]) not in (1, 2):
        raise ConfigurationError(f"step {step_id} checks the series its SQL step returned, which needs rows of "
                                 "(day, value) or (value); ask for e.g. 'orders per day'")
    return [row[0] if len(row) == 1 else (row[0], row[1]) for row in rows]


def _daily_metric(conn_id: str, request: str) -> Any:
    from airflow_aimod.core.anomaly.metric import daily_metric
    from airflow_aimod.hooks.warehouse import open_readonly_executor

    with open_readonly_executor(conn_id) as executor:
        return daily_metric(executor.catalog(), request)


BUILDERS: dict[str, Callable[[StepInputs], Any]] = {
    "sql_agent": _sql, "data_profiler": _profile, "summarizer": _summary, "report_generator": _report,
    "alert_manager": _alerts, "schema_validator": _validate, "anomaly_detector": _anomaly,
}
