"""Extra links on agent tasks: the run's trace on the AiMod page, the Required Actions page, and the report.

Airflow computes each link when the task instance finishes or parks (the value is kept in XCom), so a
link reads only what the task left behind: the trace id in XCom key ``aimod_trace_id``, the report's URI
in ``aimod_report``. Links are relative to ``[api] base_url`` when it is set, else to the server root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

TRACE_XCOM_KEY = "aimod_trace_id"
REPORT_XCOM_KEY = "aimod_report"


def _base() -> str:
    from airflow.sdk.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "").rstrip("/")


class AimodTraceLink(BaseOperatorLink):
    """"AiMod trace": the timeline of this task's agent run on the AiMod page (empty before the run has one)."""

    name = "AiMod trace"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        trace_id = XCom.get_value(ti_key=ti_key, key=TRACE_XCOM_KEY)
        if not isinstance(trace_id, str) or not trace_id:
            return ""
        return f"{_base()}/aimod/?{urlencode({'trace': trace_id})}"


class RequiredActionsLink(BaseOperatorLink):
    """"Required Actions": where a person answers this task's request (tasks with ``hitl=True`` only)."""

    name = "Required Actions"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        if not getattr(operator, "hitl", False):
            return ""
        return required_actions_path(_base(), ti_key)


class AimodReportLink(BaseOperatorLink):
    """"AiMod report": the report the task wrote, served by the AiMod app (empty before it wrote one)."""

    name = "AiMod report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        uri = XCom.get_value(ti_key=ti_key, key=REPORT_XCOM_KEY)
        return report_path(_base(), ti_key) if isinstance(uri, str) and uri else ""


def report_path(base: str, ti_key: Any) -> str:
    """``{base}/aimod/reports/{dag}/{run}/{task}[?map_index=i]``: where the AiMod app serves a task's report."""
    parts = [quote(str(getattr(ti_key, name)), safe="") for name in ("dag_id", "run_id", "task_id")]
    map_index = getattr(ti_key, "map_index", -1)
    suffix = f"?map_index={map_index}" if map_index is not None and map_index >= 0 else ""
    return "{}/aimod/reports/{}/{}/{}".format(base, *parts) + suffix


def required_actions_path(base: str, ti_key: Any) -> str:
    """``{base}/dags/{dag}/runs/{run}/tasks/{task}[/mapped/{i}]/required_actions`` of a task instance."""
    parts = [quote(str(getattr(ti_key, name)), safe="") for name in ("dag_id", "run_id", "task_id")]
    path = "{}/dags/{}/runs/{}/tasks/{}".format(base, *parts)
    map_index = getattr(ti_key, "map_index", -1)
    if map_index is not None and map_index >= 0:
        path += f"/mapped/{map_index}"
    return path + "/required_actions"
