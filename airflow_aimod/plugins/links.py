"""Links from the AiMod page into the Airflow UI: a task instance, its log, its Required Actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def task_path(base: str, row: dict[str, Any]) -> str | None:
    """``{base}/dags/{dag}/runs/{run}/tasks/{task}``, or None when the row is not an Airflow task."""
    if not row.get("dag_id") or not row.get("run_id") or not row.get("task_id"):
        return None
    parts = (quote(str(row[k]), safe="") for k in ("dag_id", "run_id", "task_id"))
    return "{}/dags/{}/runs/{}/tasks/{}".format(base, *parts)


def task_links(base: str, row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, url) pairs: the task, its log (the try that ran), and Required Actions when it waits."""
    path = task_path(base, row)
    if path is None:
        return []
    links = [("task", f"{path}/details")]
    try_number = row.get("try_number") or 0
    links.append(("log", f"{path}?try_number={try_number}" if try_number else path))
    if row.get("verdict") == "waiting":
        links.append(("Required Actions", f"{path}/required_actions"))
    return links
