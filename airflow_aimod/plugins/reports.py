"""``GET /aimod/reports/{dag_id}/{run_id}/{task_id}``: the report a task wrote, where its "AiMod report" link points.

The task leaves the report's URI in XCom key ``aimod_report``; this route reads it from the metadata DB
for a user who may read the DAG, and serves the file when it lies under ``[aimod] report_url`` (any
``ObjectStoragePath`` URL; by default ``file://$AIRFLOW_HOME/aimod/reports``) — never a path elsewhere. Reports
are served sandboxed (``Content-Security-Policy: sandbox``, no scripts, images only as ``data:``), so a
report's text cannot act on the Airflow UI's origin.
"""

from __future__ import annotations

import posixpath
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from airflow_aimod.plugins.auth import ReadableDags

MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8", ".pdf": "application/pdf"}
SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def report_router() -> APIRouter:
    router = APIRouter()

    @router.get("/reports/{dag_id}/{run_id}/{task_id}")
    def report(dag_id: str, run_id: str, task_id: str, dags: ReadableDags,
               map_index: int = Query(-1, ge=-1)) -> Response:
        if dag_id not in dags:
            raise HTTPException(404, f"no DAG {dag_id!r} you can read")
        uri = report_uri(dag_id, run_id, task_id, map_index)
        if not uri:
            raise HTTPException(404, f"{dag_id}/{run_id}/{task_id} has written no report (XCom 'aimod_report')")
        path = served_path(uri)
        media = MEDIA_TYPES.get(posixpath.splitext(path.name)[1].lower())
        if media is None or not path.is_file():
            raise HTTPException(404, f"the report {path.name!r} is not there any more (or is not a report file)")
        return Response(path.read_bytes(), media_type=media,
                        headers={"Content-Security-Policy": SANDBOX, "X-Content-Type-Options": "nosniff"})

    return router


def report_uri(dag_id: str, run_id: str, task_id: str, map_index: int) -> str | None:
    """The report URI the task instance left in XCom, or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.task_id == task_id,
            XComModel.map_index == map_index, XComModel.key == "aimod_report").one_or_none()
        value = XComModel.deserialize_value(row) if row is not None else None
    return value if isinstance(value, str) and value else None


def served_path(uri: str) -> Any:
    """``uri`` as an ``ObjectStoragePath`` when it lies under ``[aimod] report_url``; else a 403 saying where it is."""
    from airflow.sdk import ObjectStoragePath

    from airflow_aimod.settings import report_base_url

    base = report_base_url().rstrip("/")
    normal = _normalised(uri)
    if normal is None or not normal.startswith(_normalised(base) + "/"):
        raise HTTPException(403, "this report was written outside [aimod] report_url, so the AiMod app does not "
                                 "serve it; open it where the task wrote it (its URI is in XCom 'aimod_report')")
    return ObjectStoragePath(normal)


def _normalised(uri: str) -> str | None:
    """``scheme://`` + a normalised path; None when the path climbs out (``..``)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    path = posixpath.normpath("/" + rest.lstrip("/")) if scheme == "file" else posixpath.normpath(rest)
    if ".." in path.split("/"):
        return None
    return f"{scheme}://{path}"
