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
