"""The AiMod page in headless Chromium, after the demo's DAG runs have produced data.

The demo's own run step (``python -m airflow_aimod.demo.run``, what ``aimod demo`` runs on its
SQLite Airflow: the quickstart DAG per request, then the anomaly DAG on the spiked warehouse)
runs four requests — answered, PII (waits for approval), refused, vague (goes to a person) — into
a temporary workdir, while a real ``airflow api-server`` and dag-processor start on a Postgres
metadata DB with ``[aimod] store_url`` pointed at the demo's store. (``aimod demo``'s final
approval step is left out: it has tests of its own and would add a second api-server.) A person
signs in on the simple auth manager's login page, opens ``/aimod/`` and the **AiMod** entry of
the Airflow UI's Browse menu, and sees the figures worked out below by hand from the requests and
cross-checked against the demo's XComs and task log (not the store the page reads). Screenshots
are kept in ``tests/artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from urllib.parse import quote

import pytest

from tests.support.stack import AirflowStack
from tests.conftest import REPO
from tests.pg import throwaway_database
from tests.support.browser import Browser, chromium_path

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(420)]

REQUESTS = {"answered": "How many orders were placed in 2024?",
            "pii": "List the email addresses of customers in Germany",
            "refused": "How many employees were hired last year?",
            "vague": "can you help me with the thing from yesterday"}
USERS = {"analyst": "analyst-pw-1"}
TASK_AGENT = {"route": "task_router", "sql_agent": "sql_agent", "whole_series": "anomaly_detector",
              "weekday_baseline": "anomaly_detector"}
# by hand: router 3 answered + 1 escalated (by design: reported, not red); SQL agent answered, refused, and one
# waiting (not yet counted in the rates). (runs, succeeded, escalated, failed, waiting)
HEALTH = {"anomaly_detector": ("2", "2 (100%)", "0 (0%)", "0 (0%)", "0"),
          "sql_agent": ("3", "2 (100%)", "0 (0%)", "0 (0%)", "1"),
          "task_router": ("4", "3 (75.0%)", "1 (25.0%)", "0 (0%)", "0")}
FINISHED_RUNS = 4 + 2 + 2


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's DAG runs, as ``aimod demo`` runs them, in a workdir (while the stack starts)."""
    from airflow_aimod.demo.anomalies import with_order_spike
    from airflow_aimod.demo.run import SPIKE_DAY, demo_env
    from airflow_aimod.demo.warehouse import build_warehouse

    chromium_path()  # no browser: fail now, before minutes of set-up
    workdir = tmp_path_factory.mktemp("dashboard-demo")
    (workdir / "airflow").mkdir()
    build_warehouse(workdir / "warehouse.db")
    with_order_spike(workdir / "warehouse.db", workdir / "warehouse_spiked.db", day=SPIKE_DAY)
    env = {**demo_env(workdir), "AIMOD_DEMO_ANOMALY_WAREHOUSE": str(workdir / "warehouse_spiked.db")}
    run = [sys.executable, "-m", "airflow_aimod.demo.run", str(workdir / "results.json"), *REQUESTS.values()]
    script = f"{shlex.quote(sys.executable)} -m airflow db migrate && {shlex.join(run)}"
    with open(workdir / "demo.log", "wb") as log:
        proc = subprocess.Popen(["sh", "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield workdir, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def stack(demo, tmp_path_factory):
    workdir, proc = demo
    store = workdir / "airflow" / "aimod" / "store.sqlite"
    with throwaway_database("aimod_e2e_dash") as metadata:
        airflow = AirflowStack(home=tmp_path_factory.mktemp("e2e-dashboard"), database_url=metadata,
                               dags_folder=REPO / "dags", users=USERS, components=("api-server", "dag-processor"),
                               env={"AIRFLOW__AIMOD__STORE_URL": f"sqlite:///{store}"})
        with airflow:
            for dag_id in ("aimod_quickstart", "aimod_data_ops"):  # the page shows only DAGs the user may read
                airflow.wait_for(lambda d=dag_id: airflow.api("GET", f"/dags/{d}", user="analyst").status_code == 200,
                                 timeout=180, what=f"the dag-processor to parse {dag_id}")
            airflow.wait_for(lambda: proc.poll() is not None, timeout=300, what="the demo's DAG runs to finish")
            assert proc.returncode == 0, (workdir / "demo.log").read_text()[-4000:]
            yield airflow


@pytest.fixture(scope="module")
def results(demo, stack):
    workdir, _ = demo
    runs = {key: run for key, run in zip(REQUESTS, json.loads((workdir / "results.json").read_text()))}
    return runs, json.loads((workdir / "anomalies.json").read_text()), (workdir / "demo.log").read_text()


@pytest.fixture(scope="module")
def browser(stack):
    with Browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page(browser, stack):
    """The AiMod page as user ``analyst`` sees it, signed in through Airflow's login page."""
    signed_in = browser.signed_in(stack.base_url, "analyst", USERS["analyst"])
    signed_in.goto(f"{stack.base_url}/aimod/")
    return signed_in


def agent_outcomes(runs: dict, anomalies: dict) -> list[dict]:
    """Every agent run's XCom outcome (agent name added), from the demo's results."""
    found = []
    for run in [*runs.values(), anomalies]:
        for key, value in run["xcom"].items():
            task = key.removesuffix(".return_value")
            if task in TASK_AGENT and key.endswith(".return_value"):
                found.append({**value, "agent_name": TASK_AGENT[task]})
    return found


def logged_events(log: str, trace_id: str) -> dict[str, dict]:
    """The trace's events as the demo's task logs printed them (``AIMOD_EVENT {...}``), by event id."""
    decoder, found = json.JSONDecoder(), {}
    for line in log.splitlines():
        if "AIMOD_EVENT {" in line:
            event, _ = decoder.raw_decode(line.split("AIMOD_EVENT ", 1)[1])
            if event["trace_id"] == trace_id:
                found[event["event_id"]] = event
    return found


def svg_texts(labels) -> list[str]:
    """What SVG ``<text>`` elements show (their own text, not the hover ``<title>``)."""
    return labels.evaluate_all("els => els.map(e => [...e.childNodes].filter(n => n.nodeType === 3)"
                               ".map(n => n.data).join(''))")


def test_a_person_who_is_not_signed_in_goes_to_the_login_page(browser, stack):
    anonymous = browser.new_page()
    anonymous.goto(f"{stack.base_url}/aimod/")
    anonymous.wait_for_url(re.compile(re.escape(stack.base_url) + r"/auth/login\?next=.*aimod"))
    assert "Not authenticated" not in anonymous.inner_text("body")


def test_agent_health_shows_the_agents_that_ran_with_their_numbers(page, results):
    runs, anomalies, _ = results
    rows = {cells[0]: cells[1:] for cells in (r.locator("td").all_inner_texts()
                                              for r in page.locator("#health tbody tr").all())}
    assert sorted(rows) == sorted(HEALTH)
    outcomes = agent_outcomes(runs, anomalies)
    for agent, (count, success, *waiting) in HEALTH.items():
        mine = [o["token_usage"] for o in outcomes if o["agent_name"] == agent]
        tokens_in, tokens_out = (f'{sum(u[k] for u in mine):,}' for k in ("input_tokens", "output_tokens"))
        runs_, ok, escalated, failed, pending, _p50, _p95, shown_in, shown_out, errors, timeouts = rows[agent]
        assert (runs_, ok, escalated, failed, pending, errors, timeouts) == (count, success, *waiting, "0", "0"), \
            rows[agent]
        assert (shown_in, shown_out) == (tokens_in, tokens_out) and len(mine) == int(count)
        assert re.fullmatch(r"\d+\.\d\d s", _p50) and re.fullmatch(r"\d+\.\d\d s", _p95)
    assert page.locator("#health td.bad").all_inner_texts() == []  # nothing failed: no red, escalations included


def test_business_cards_count_the_requests(page, results):
    runs, anomalies, _ = results
    anomaly_traces = len({v["trace_id"] for k, v in anomalies["xcom"].items()
                          if k.removesuffix(".return_value") in TASK_AGENT})
    cards = dict(zip(page.locator("#business .card span").all_inner_texts(),
                     page.locator("#business .card b").all_inner_texts()))
    resolved = 3 + anomaly_traces  # every request but the one waiting for approval
    assert cards["Requests resolved"] == str(resolved)
    assert cards["Tasks completed"] == str(resolved - 1)  # the vague request went to a person
    # the vague request and the one still waiting for approval
    assert cards["Requests"] == str(resolved + 1) and cards["Escalated to a person"] == "1" and cards["Failed"] == "0"
    assert cards["Needed a human"] == f"2 ({2 / (resolved + 1):.1%})" and cards["Estimated cost"] == "$0.00"
    assert "No price for: aimod-offline-1" in page.inner_text("body")


def test_charts_are_drawn_with_every_finished_run(page, results):
    runs, anomalies, _ = results
    figures = page.locator("#charts figure")
    assert figures.locator("figcaption").all_inner_texts() == ["Finished runs", "Success rate (dashed: 90% alert)",
                                                               "Failed runs", "Tokens"]
    for svg in figures.locator("svg").all():
        box = svg.bounding_box()
        assert box and box["width"] > 400 and box["height"] > 100
    def values(titles):  # "3 · 12-03 14:00–14:05 UTC": the value, then the bucket's time
        return [float(t.split(" · ")[0]) for t in titles]

    bars = values(figures.nth(0).locator("rect title").all_text_contents())
    assert all(t.endswith(" UTC") for t in figures.nth(0).locator("rect title").all_text_contents())
    assert figures.nth(0).locator("text.axis-time").count() == 3 and figures.nth(2).locator("rect").count() == 0
    assert sum(bars) == FINISHED_RUNS
    finished = [o for o in agent_outcomes(runs, anomalies) if o["status"] != "needs_approval"]
    tokens = sum(o["token_usage"]["input_tokens"] + o["token_usage"]["output_tokens"] for o in finished)
    assert sum(values(figures.nth(3).locator("rect title").all_text_contents())) == tokens
    assert figures.nth(1).locator("circle").count() >= 1  # 100% in the buckets that have runs


def test_the_pending_approval_links_to_its_required_actions_page(page, stack, results, browser):
    runs, _, _ = results
    row = page.locator("#approvals tr", has_text="sql_agent").nth(0)
    assert row.locator("td").all_inner_texts()[:4] == [
        "sql_agent", "aimod_quickstart", "sql_agent", "waiting for a person's approval: touches PII column customers.email"]
    path = f"/dags/aimod_quickstart/runs/{quote(runs['pii']['run_id'], safe='')}/tasks/sql_agent/required_actions"
    assert row.get_by_role("link", name="Answer in Required Actions").get_attribute("href") == path
    browser.screenshot(page, "dashboard-aimod-page")
    follow = page.context.new_page()  # same sign-in; a person clicks the link
    follow.goto(f"{stack.base_url}/aimod/")
    follow.get_by_role("link", name="Answer in Required Actions").click()
    follow.wait_for_url(f"{stack.base_url}{path}")  # the Airflow UI's route for that task's required actions
    follow.close()


def test_a_trace_picked_from_the_list_shows_its_timeline(page, browser, results):
    runs, _, demo_log = results
    trace_id = runs["pii"]["xcom"]["route.return_value"]["trace_id"]
    page.locator("#trace-pick").select_option(trace_id)
    page.wait_for_url(re.compile(rf"[?&]trace={trace_id}"))
    assert page.locator("#trace").get_attribute("data-trace-id") == trace_id
    logged = list(logged_events(demo_log, trace_id).values())
    assert page.locator("#trace p.muted").inner_text() == f"trace {trace_id} · {len(logged)} events"
    timeline = page.locator("#trace svg.timeline")
    assert svg_texts(timeline.locator(":scope > text.lbl")) == ["task_router run → answered",
                                                                "sql_agent run → needs_approval"]
    shown = [" · ".join(label.split(" · ")[:2]) for label in svg_texts(timeline.locator("g.ev text.lbl"))]
    assert shown == [f'{e["kind"]} · {e["name"]}' for e in sorted(logged, key=lambda e: e["ts"])]
    assert {"llm_call · chat", "tool_call · db.introspect", "guard · sql.read"} <= set(shown)
    assert timeline.bounding_box()["height"] > 18 * len(shown)
    browser.screenshot(page, "dashboard-trace")


def test_needs_attention_shows_the_escalated_request_in_plain_sight(page, results):
    runs, _, _ = results
    rows = page.locator("#attention tr.att-escalated")
    texts = [r.locator("td").all_inner_texts() for r in rows.all()]
    vague = [t for t in texts if t[3] == REQUESTS["vague"]]
    assert vague and vague[0][1] == "escalated" and vague[0][2] == "task_router" and "person" in vague[0][4], texts
    trace_id = runs["vague"]["xcom"]["route.return_value"]["trace_id"]
    row = rows.filter(has_text=REQUESTS["vague"]).first
    assert row.get_by_role("link", name="trace").get_attribute("href").endswith(f"trace={trace_id}#trace")
    assert row.get_by_role("link", name="log").get_attribute("href").endswith("/tasks/route")  # no try known here
    waiting = page.locator("#attention tr.att-waiting").all_inner_texts()
    assert any(REQUESTS["pii"] in t for t in waiting), waiting


def test_the_trace_picker_lists_requests_and_filters_by_status(page, stack, results):
    runs, _, _ = results
    texts = page.locator("#trace-pick option").all_inner_texts()
    assert any(REQUESTS["pii"] in t and "waiting" in t for t in texts), texts
    page.locator("#trace-filter").select_option("waiting")
    page.wait_for_url(re.compile(r"[?&]status=waiting"))
    options = page.locator("#trace-pick option").all_inner_texts()
    assert len(options) == 1 and REQUESTS["pii"] in options[0], options
    trace_id = runs["answered"]["xcom"]["route.return_value"]["trace_id"]
    page.goto(f"{stack.base_url}/aimod/?trace={trace_id}")  # a deep link opens that trace
    assert page.locator("#trace").get_attribute("data-trace-id") == trace_id


def test_the_airflow_ui_nav_entry_shows_the_page(browser, stack):
    ui = browser.signed_in(stack.base_url, "analyst", USERS["analyst"])
    ui.get_by_role("button", name="Browse").click()
    ui.get_by_role("menuitem", name="AiMod").click()
    ui.wait_for_url(f"{stack.base_url}/plugin/aimod")
    frame = ui.frame_locator("iframe[title=AiMod]")
    assert frame.locator("h1").inner_text() == "AiMod — agents in production"
    assert "Signed in as analyst" in frame.locator("p.muted").first.inner_text()
    assert frame.locator("#health tbody tr").count() == len(HEALTH)
    assert frame.locator("#charts svg").count() == 4
    assert ui.locator("iframe[title=AiMod]").bounding_box()["width"] > 1000
    browser.screenshot(ui, "dashboard-in-airflow-ui", full_page=False)
    # the frame is sandboxed without top navigation: the link moves the UI's router instead
    frame.get_by_role("link", name="Answer in Required Actions").first.click()
    ui.wait_for_url(re.compile(re.escape(stack.base_url) + r"/dags/aimod_quickstart/runs/.+/tasks/sql_agent/"
                               r"required_actions"))
