"""dags/aimod_reports.py under dag.test(): the report is opened in headless Chromium (chart drawn, numbers equal
to the XComs), the Markdown and the PDF are written, the task links to it and its asset event names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import example_dag
from tests.support.browser import Browser

pytestmark = pytest.mark.airflow


def xcom(dag, run, task_id, key="return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == task_id, XComModel.key == key).one()
    return row.value


def test_the_report_of_a_real_run_opens_with_its_chart_and_the_xcom_numbers(airflow_db):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    dag = example_dag("aimod_reports")
    run = dag.test()
    assert str(run.state) == "success"
    out = xcom(dag, run, "report")
    assert out["status"] == "answered", out["reason"]
    uris = out["result"]["uris"]
    assert set(uris) == {"html", "md", "pdf"} and xcom(dag, run, "report", "aimod_report") == uris["html"]
    html_path = Path(uris["html"].removeprefix("file://"))
    assert Path(uris["pdf"].removeprefix("file://")).read_bytes()[:5] == b"%PDF-"
    upstream = {task: xcom(dag, run, task) for task in ("orders_check", "brief")}

    with Browser() as browser:
        page = browser.new_page()
        page.goto(html_path.as_uri())
        chart = page.locator("img.chart").first
        assert chart.evaluate("img => img.complete && img.naturalWidth > 100")
        rows = page.locator("section").first.locator("tbody tr")
        shown = {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(3).inner_text()
                 for i in range(rows.count())}
        browser.screenshot(page, "aimod-report")
    assert shown == {task: str(o["token_usage"]["total_tokens"]) for task, o in upstream.items()}
    assert all(o["trace_id"] in html_path.read_text() for o in upstream.values())

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()
    assert [e.extra.get("report", {}).get("html") for e in events] == [uris["html"]]


def test_the_report_link_of_a_real_task_instance_opens_the_report_through_the_api_server(airflow_db, monkeypatch):
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app

    dag = example_dag("aimod_reports")
    run = dag.test()
    html = Path(xcom(dag, run, "report", "aimod_report").removeprefix("file://"))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    with TestClient(create_app("core")) as client:
        links = client.get(f"/api/v2/dags/aimod_reports/dagRuns/{run.run_id}/taskInstances/report/links")
        assert links.status_code == 200, links.text
        link = links.json()["extra_links"]["AiMod report"]
        assert link.startswith("/aimod/reports/aimod_reports/") and links.json()["extra_links"]["AiMod trace"]
        page = client.get(link)
        assert page.status_code == 200, page.text
        assert page.content == html.read_bytes() and page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"].startswith("sandbox")
        other = client.get(f"/aimod/reports/aimod_reports/{run.run_id}/orders_check")  # wrote no report
        assert other.status_code == 404 and "has written no report" in other.json()["detail"]


def test_the_report_route_serves_only_files_under_report_url(monkeypatch, tmp_path):
    from fastapi import HTTPException

    from airflow_aimod.plugins.reports import served_path

    monkeypatch.setenv("AIRFLOW__AIMOD__REPORT_URL", f"file://{tmp_path}/reports")
    assert str(served_path(f"file://{tmp_path}/reports/d/r/pipeline_health.html")).endswith(
        "/reports/d/r/pipeline_health.html")
    for uri in (f"file://{tmp_path}/reports/../secret.html", "file:///etc/passwd", f"file://{tmp_path}/reportsX/a.html",
                "/etc/passwd"):
        with pytest.raises(HTTPException) as refused:
            served_path(uri)
        assert refused.value.status_code == 403 and "outside [aimod] report_url" in refused.value.detail
