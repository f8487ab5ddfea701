"""The AiMod FastAPI app: JSON endpoints under ``/api`` and the server-rendered page at ``/``.

Every route depends on Airflow's authentication (see ``auth``) and shows only the DAGs the
user may read. ``create_app`` takes the store, the clock and the price table so tests can
pin them; the plugin uses ``[aimod] store_url`` / ``price_table`` and the wall clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from airflow.api_fastapi.core_api.security import GetUserDep
from airflow_aimod.plugins.auth import ReadableDags, user_name
from airflow_aimod.plugins.reports import report_router

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW_S = 90 * 86400
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="2"><path d="M3 12h4l3 8 4-16 3 8h4"/></svg>')


def parse_window(text: str) -> float:
    """``30m`` / ``24h`` / ``7d`` / ``3600`` → seconds; a 400 says the accepted forms."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"] if match else 0.0
    if not 0 < seconds <= MAX_WINDOW_S:
        raise HTTPException(400, f"window {text!r} is not valid: use e.g. 30m, 24h or 7d (at most 90d)")
    return seconds


def create_app(*, queries: Any = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """The dashboard app; ``queries`` defaults to ``DashboardQueries`` over the configured store."""
    app = FastAPI(title="AiMod dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.queries = queries
    app.state.clock = clock
    app.include_router(_api_router(), prefix="/api")
    app.include_router(_page_router())
    app.include_router(report_router())
    app.add_exception_handler(StarletteHTTPException, _signed_out_to_login)
    return app


async def _signed_out_to_login(request: Request, exc: StarletteHTTPException) -> Response:
    """The page opened in a browser signed out (or with an expired session) goes to Airflow's login page, as
    the rest of the UI does; the JSON API, and any client sending its own token, keep the 401/403."""
    root, path = request.scope.get("root_path", "") or "", request.scope.get("path", "")
    relative = path[len(root):] if root and path.startswith(root) else path
    browser = request.method == "GET" and "authorization" not in request.headers
    if exc.status_code in (401, 403) and relative in ("", "/") and browser:
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=307)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _queries(request: Request) -> Any:
    state = request.app.state
    if state.queries is None:
        from airflow_aimod.core.store import DashboardQueries
        from airflow_aimod.observability.sinks import price_table, shared_store, store_url
        from airflow_aimod.plugins.task_states import AirflowTaskStates

        url = store_url()
        if url is None:
            raise HTTPException(503, "the AiMod store is off: set [aimod] store_url to see the dashboard")
        state.queries = DashboardQueries(shared_store(url), price_table=price_table(), task_states=AirflowTaskStates())
    return state.queries


def airflow_base(request: Request) -> str:
    """The Airflow UI's base path, as seen from this mounted app (for Required Actions links)."""
    root = request.scope.get("root_path", "") or ""
    return root[: -len("/aimod")] if root.endswith("/aimod") else root


def required_actions_url(base: str, approval: dict[str, Any]) -> str:
    """The Airflow page where a person answers this paused task."""
    from urllib.parse import quote

    if not approval.get("dag_id") or not approval.get("run_id") or not approval.get("task_id"):
        return f"{base}/required_actions?response_received=false"
    parts = (quote(str(approval[k]), safe="") for k in ("dag_id", "run_id", "task_id"))
    return "{}/dags/{}/runs/{}/tasks/{}/required_actions".format(base, *parts)


def _api_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    def health(request: Request, dags: ReadableDags, window: str = "24h",
               buckets: int = Query(24, ge=1, le=200)) -> dict[str, Any]:
        seconds, now, q = parse_window(window), request.app.state.clock(), _queries(request)
        runs = q.view(window=seconds, now=now, dag_ids=dags)  # one reconciliation for both parts
        return {"window_s": seconds, "now": now, "agents": q.agent_health(window=seconds, now=now, dag_ids=dags,
                                                                          runs=runs),
                "series": q.series(window=seconds, now=now, buckets=buckets, dag_ids=dags, runs=runs)}

    @router.get("/business")
    def business(request: Request, dags: ReadableDags, window: str = "24h") -> dict[str, Any]:
        seconds, now = parse_window(window), request.app.state.clock()
        return {"window_s": seconds, "now": now, **_queries(request).business(window=seconds, now=now, dag_ids=dags)}

    @router.get("/traces")
    def recent(request: Request, dags: ReadableDags, window: str = "24h", status: str = "all",
               limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        """One entry per request of the window (time, request text, status), newest first."""
        seconds, now = parse_window(window), request.app.state.clock()
        return _queries(request).requests(window=seconds, now=now, dag_ids=dags, status=_status(status), limit=limit)

    @router.get("/attention")
    def attention(request: Request, dags: ReadableDags, window: str = "24h") -> list[dict[str, Any]]:
        """Failed, escalated and waiting runs of the window, with their request, error and links."""
        from airflow_aimod.plugins.links import task_links

        seconds, now, base = parse_window(window), request.app.state.clock(), airflow_base(request)
        return [{**r, "links": dict(task_links(base, r))}
                for r in _queries(request).attention(window=seconds, now=now, dag_ids=dags)]

    @router.get("/traces/{trace_id}")
    def trace(request: Request, trace_id: str, dags: ReadableDags,
              limit: int = Query(2000, ge=1, le=10000)) -> dict[str, Any]:
        found = _queries(request).trace(trace_id, limit=limit, dag_ids=dags)
        if not found["events"] and not found["outcomes"]:
            raise HTTPException(404, f"no trace {trace_id!r} in the AiMod store (or not in a DAG you can read)")
        return found

    @router.get("/approvals/pending")
    def pending(request: Request, dags: ReadableDags, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        base = airflow_base(request)
        return [{**a, "required_actions_url": required_actions_url(base, a)}
                for a in _queries(request).pending_approvals(limit=limit, dag_ids=dags, now=request.app.state.clock())]

    @router.get("/examples")
    def examples(request: Request, dags: ReadableDags, agent: str | None = None,
                 limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        """Verified examples, newest first: agent, question or request, answer, who verified it, when, the
        connection (PII-looking values masked); none for a user who may read no DAG."""
        from airflow_aimod.plugins.examples import LEARNING_AGENTS, public_examples

        if agent is not None and agent not in LEARNING_AGENTS:
            raise HTTPException(400, f"agent {agent!r} keeps no examples: use one of {', '.join(LEARNING_AGENTS)}")
        return public_examples(_queries(request).store, limit=limit, agent=agent) if dags else []

    return router


def _status(text: str) -> str | None:
    """A trace filter: ``all`` or one verdict; a 400 lists them."""
    from airflow_aimod.core.store.reconcile import VERDICTS

    if text in ("", "all"):
        return None
    if text not in VERDICTS:
        raise HTTPException(400, f"status {text!r} is not valid: use all or one of {', '.join(VERDICTS)}")
    return text


def _page_router() -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def page(request: Request, user: GetUserDep, dags: ReadableDags, window: str = "24h",
             trace: str | None = None, status: str = "all") -> HTMLResponse:
        from airflow_aimod.plugins.examples import public_examples
        from airflow_aimod.plugins.page import PageData, render_page

        seconds, now, q = parse_window(window), request.app.state.clock(), _queries(request)
        runs = q.view(window=seconds, now=now, dag_ids=dags)  # one reconciliation for every part of the page
        recent = q.requests(window=seconds, now=now, runs=runs, status=_status(status), limit=100)
        picked = trace or next((t["trace_id"] for t in recent), None)
        base = airflow_base(request)
        data = PageData(
            window=window, now=now, user=user_name(user), base=base,
            agents=q.agent_health(window=seconds, now=now, dag_ids=dags, runs=runs),
            series=q.series(window=seconds, now=now, buckets=24, dag_ids=dags, runs=runs),
            business=q.business(window=seconds, now=now, dag_ids=dags, runs=runs),
            approvals=[{**a, "url": required_actions_url(base, a)}
                       for a in q.pending_approvals(limit=50, dag_ids=dags, now=now)],
            recent=recent, trace=q.trace(picked, limit=500, dag_ids=dags) if picked else None,
            attention=q.attention(window=seconds, now=now, dag_ids=dags, runs=runs, limit=50),
            status=_status(status) or "all", examples=public_examples(q.store, limit=20) if dags else [])
        return HTMLResponse(render_page(data))

    @router.get("/icon.svg")
    def icon() -> Response:
        return Response(ICON, media_type="image/svg+xml")

    return router
