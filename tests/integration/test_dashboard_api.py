"""The AiMod plugin app mounted in Airflow's real api-server app, behind Airflow's real auth.

Tokens come from the simple auth manager's ``POST /auth/token``; requests carry them as
``Authorization: Bearer`` (API clients) or the ``_token`` cookie (the Airflow UI). What a user
sees is limited to the DAGs the auth manager lets them read: rows of a DAG that does not exist
in the metadata DB never show.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from airflow_aimod.core.examples import Example, ExampleStore
from airflow_aimod.core.store import DashboardQueries, Outcome, open_store
from tests.unit import test_store as shared

pytestmark = pytest.mark.airflow
USERS = {"admin": "admin-pw", "viewer": "viewer-pw"}


@pytest.fixture(scope="module")
def airflow_env(airflow_db, tmp_path_factory):
    """Simple auth manager users with known passwords, and the example DAGs serialized (DagModel rows)."""
    secrets = tmp_path_factory.mktemp("auth")
    (secrets / "passwords.json").write_text(json.dumps(USERS))
    env = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(secrets / "passwords.json"),
           "AIRFLOW__API_AUTH__JWT_SECRET": "aimod-test-secret-" + "0123456789abcdef" * 4}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True,
                   env=os.environ.copy(), timeout=240)
    yield env
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture(scope="module")
def client(airflow_env, tmp_path_factory):
    """Airflow's api-server app (core) with the AiMod app mounted the way the plugin manager mounts it."""
    from fastapi.testclient import TestClient

    from airflow import plugins_manager
    from airflow.api_fastapi.app import create_app
    from airflow_aimod.plugins.api import create_app as create_aimod_app

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.sqlite'}")
    shared.build_dataset(store)
    examples = ExampleStore(store)
    examples.add(Example(agent="sql_agent", question="how many orders per status", conn_id="retail_dw",
                         answer="SELECT status, COUNT(*) FROM orders GROUP BY status", verified_by="ana",
                         source="approved", verified_at=shared.NOW - 120))
    examples.add(Example(agent="task_router", question="weekly digest of orders", answer="report_generator",
                         verified_by="bo", source="route_review", verified_at=shared.NOW - 60))
    examples.add(Example(agent="sql_agent", question="orders of jane.doe@example.com", conn_id="retail_dw",
                         answer="SELECT * FROM orders WHERE email = 'jane.doe@example.com'", verified_by="cy",
                         verified_at=shared.NOW - 600))  # added by hand: shown with the address masked
    store.record_outcome(Outcome(trace_id="hidden", agent="sql_agent", status="needs_approval", dag_id="secret_dag",
                                 started_at=shared.NOW - 30, ended_at=shared.NOW - 20))
    aimod = create_aimod_app(queries=DashboardQueries(store, price_table=shared.PRICES), clock=lambda: shared.NOW)
    mounted = [{"app": aimod, "url_prefix": "/aimod", "name": "AiMod dashboard"}]
    original = plugins_manager.get_fastapi_plugins
    plugins_manager.get_fastapi_plugins = lambda: (mounted, [])
    try:
        app = create_app("core")
    finally:
        plugins_manager.get_fastapi_plugins = original
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def token(client, user: str = "admin") -> str:
    response = client.post("/auth/token", json={"username": user, "password": USERS[user]})
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


def bearer(client, user: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, user)}"}


ENDPOINTS = ["/aimod/", "/aimod/api/health", "/aimod/api/business", "/aimod/api/traces/t1",
             "/aimod/api/approvals/pending", "/aimod/api/traces", "/aimod/api/examples"]


@pytest.mark.parametrize("path", ENDPOINTS[1:])
def test_unauthenticated_requests_are_refused(client, path):
    client.cookies.clear()
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer not-a-jwt"}).status_code == 403
    assert client.get(path, cookies={"_token": "not-a-jwt"}).status_code == 403


def test_the_page_signed_out_goes_to_the_login_page(client):
    client.cookies.clear()
    for cookies in ({}, {"_token": "not-a-jwt"}):
        response = client.get("/aimod/?window=1h", cookies=cookies, follow_redirects=False)
        assert response.status_code == 307, response.text
        assert response.headers["location"].startswith("/auth/login?next=") and "aimod" in response.headers["location"]
    assert client.get("/aimod/", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 403  # an API client


def test_attention_lists_failed_runs_with_their_reason_and_task_links(client):
    body = client.get("/aimod/api/attention?window=1h", headers=bearer(client)).json()
    failed = [r for r in body if r["verdict"] == "failed"]
    assert sorted(r["trace_id"] for r in failed) == ["t14", "t7"]
    assert failed[0]["links"]["log"].startswith("/dags/aimod_quickstart/runs/r")
    assert [r["trace_id"] for r in body if r["verdict"] == "waiting"] == ["p1"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_signed_in_users_are_served(client, path):
    assert client.get(path, headers=bearer(client, "viewer")).status_code == 200


def test_health_has_the_stored_figures(client):
    body = client.get("/aimod/api/health?window=1h&buckets=6", headers=bearer(client)).json()
    assert body["window_s"] == 3600 and body["now"] == shared.NOW
    sql = next(a for a in body["agents"] if a["agent"] == "sql_agent")
    assert (sql["runs"], sql["success_rate"], sql["p50_s"], sql["p95_s"], sql["timeouts"]) == (21, 0.9, 10.0, 19.0, 2)
    assert [s["runs"] for s in body["series"]] == [0, 11, 10, 6, 3, 0]


def test_business_figures(client):
    body = client.get("/aimod/api/business?window=60m", headers=bearer(client)).json()
    assert (body["requests_resolved"], body["tasks_completed"], body["needed_human"], body["cost"]) == (20, 18, 5, 4.62)


def test_trace_timeline_and_unknown_trace(client):
    auth = bearer(client)
    trace = client.get("/aimod/api/traces/t1", headers=auth).json()
    assert [o["agent"] for o in trace["outcomes"]] == ["task_router", "sql_agent"] and trace["events"][0]["kind"] == "error"
    missing = client.get("/aimod/api/traces/nope", headers=auth)
    assert missing.status_code == 404 and "no trace" in missing.json()["detail"]


def test_pending_approvals_link_to_required_actions_and_hide_unreadable_dags(client):
    body = client.get("/aimod/api/approvals/pending", headers=bearer(client)).json()
    assert [(a["trace_id"], a["required_actions_url"]) for a in body] == [
        ("p1", "/dags/aimod_approvals/runs/rp/tasks/sql_agent/required_actions")]  # not "hidden" (secret_dag)
    assert client.get("/aimod/api/traces/hidden", headers=bearer(client)).status_code == 404


def test_verified_examples_are_listed_newest_first_with_who_verified_them_and_no_pii(client):
    body = client.get("/aimod/api/examples", headers=bearer(client)).json()
    assert [(e["agent"], e["verified_by"], e["conn_id"], e["source"]) for e in body] == [
        ("task_router", "bo", "", "route_review"), ("sql_agent", "ana", "retail_dw", "approved"),
        ("sql_agent", "cy", "retail_dw", "manual")]
    assert body[1]["verified_at"] == shared.NOW - 120 and body[1]["answer"].startswith("SELECT status")
    assert "jane.doe" not in json.dumps(body) and "[pii]" in body[2]["question"]
    only = client.get("/aimod/api/examples?agent=task_router&limit=5", headers=bearer(client)).json()
    assert [e["question"] for e in only] == ["weekly digest of orders"]
    bad = client.get("/aimod/api/examples?agent=data_profiler", headers=bearer(client))
    assert bad.status_code == 400 and "sql_agent" in bad.json()["detail"]


def test_a_bad_window_says_what_to_use(client):
    response = client.get("/aimod/api/health?window=soon", headers=bearer(client))
    assert response.status_code == 400 and "24h" in response.json()["detail"]


def test_the_page_renders_for_the_ui_cookie(client):
    client.cookies.set("_token", token(client, "viewer"))
    try:
        page = client.get("/aimod/?window=1h&trace=t2")
    finally:
        client.cookies.clear()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Signed in as viewer" in html and '<table id="health">' in html and "18 (90.0%)" in html
    assert 'href="/dags/aimod_approvals/runs/rp/tasks/sql_agent/required_actions"' in html
    assert 'data-trace-id="t2"' in html and 'aria-label="trace timeline"' in html and "secret_dag" not in html
    assert '<table id="examples">' in html and "how many orders per status" in html and "retail_dw" in html
    assert "jane.doe" not in html


def test_the_plugin_registers_through_airflows_plugin_manager(tmp_path):
    """Loaded from a plugins folder in a fresh process: the app is mounted at /aimod and a nav entry exists."""
    (tmp_path / "aimod_plugin.py").write_text("from airflow_aimod.plugins.aimod import AimodPlugin\n")
    code = textwrap.dedent("""
        import json, sys
        from airflow import plugins_manager
        apps, _ = plugins_manager.get_fastapi_plugins()
        views, _ = plugins_manager._get_ui_plugins()
        print(json.dumps({"apps": [a["url_prefix"] for a in apps], "views": [v["href"] for v in views]}))
    """)
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["apps"].count("/aimod") == 1 and found["views"].count("/aimod/") == 1
