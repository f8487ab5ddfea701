"""The AiMod page in headless Chromium, reading the same Airflow metadata DB its runs were recorded in.

A real ``airflow api-server`` and dag-processor start on a throwaway Postgres metadata DB with
``[aimod] store_url`` pointed at a store of this module's own. Then, with that same environment
(``tests/support/dashboard_runs.py``): the demo's own run step (``dag.test()`` of the quickstart DAG
for four requests — answered, PII (the SQL agent hands it to the ``needs_a_person`` task: its
approval row goes stale the moment the task succeeds), refused, vague (the router escalates it) —
then the anomaly DAG on a spiked warehouse); one more quickstart request whose warehouse file is
missing (the SQL agent task fails before its graph records anything); and ``airflow dags test`` of
``aimod_approvals`` with a PII request, left awaiting input on Required Actions. A person signs in on
the simple auth manager's login page and opens ``/aimod/`` and the **AiMod** entry of the Browse menu.

The figures expected are worked out by hand from the requests below, and the health table is also
compared with counts of Airflow's own ``task_instance`` rows, queried here. Screenshots are kept in
``tests/artifacts/``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.conftest import REPO
from tests.pg import throwaway_database
from tests.support.browser import Browser, chromium_path
from tests.support.dashboard_runs import DashboardRuns
from tests.support.stack import AirflowStack

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(900)]

REQUESTS = {"answered": "How many orders were placed in 2024?",
            "pii": "List the email addresses of customers in Germany",
            "refused": "How many employees were hired last year?",
            "vague": "can you help me with the thing from yesterday"}
BROKEN = "How many orders were shipped in 2024?"  # its warehouse file is missing
HITL_DAG, HITL = "aimod_approvals", REQUESTS["pii"]  # waits on Required Actions
USERS = {"analyst": "analyst-pw-1"}
TASK_AGENT = {"route": "task_router", "sql_agent": "sql_agent", "whole_series": "anomaly_detector",
              "weekday_baseline": "anomaly_detector"}
# by hand, (runs, succeeded, escalated, failed, waiting); rates are of finished runs. Router: 6 routes, the
# vague one escalated (by design: reported, not red). SQL agent: answered and refused succeed, the PII one
# went to a person (escalated: its stale approval row is not "waiting"), the missing warehouse failed, the
# aimod_approvals one waits.
HEALTH = {"anomaly_detector": ("2", "2 (100%)", "0 (0%)", "0 (0%)", "0"),
          "sql_agent": ("5", "2 (50.0%)", "1 (25.0%)", "1 (25.0%)", "1"),
          "task_router": ("6", "5 (83.3%)", "1 (16.7%)", "0 (0%)", "0")}
FINISHED_RUNS = 2 + 4 + 6


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    chromium_path()  # no browser: fail now, before minutes of set-up
    workdir = tmp_path_factory.mktemp("dashboard-runs")
    env = {"AIRFLOW__AIMOD__STORE_URL": f"sqlite:///{workdir / 'store.sqlite'}",
           "AIRFLOW__AIMOD__CHECKPOINT_URL": f"sqlite:///{workdir / 'checkpoints.sqlite'}",
           "AIRFLOW_CONN_AIMOD_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(workdir / "warehouse.db")}),
           "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": json.dumps({"conn_type": "aimod_llm", "extra": {"backend": "offline"}})}
    with throwaway_database("aimod_e2e_dash") as metadata:
        airflow = AirflowStack(home=tmp_path_factory.mktemp("e2e-dashboard"), database_url=metadata,
                               dags_folder=REPO / "dags", users=USERS, components=("api-server", "dag-processor"),
                               env=env)
        airflow.workdir, airflow.metadata_url = workdir, metadata
        with airflow:
            for dag_id in ("aimod_quickstart", "aimod_data_ops", HITL_DAG):  # the page shows DAGs the user may read
                airflow.wait_for(lambda d=dag_id: airflow.api("GET", f"/dags/{d}", user="analyst").status_code == 200,
                                 timeout=180, what=f"the dag-processor to parse {dag_id}")
            yield airflow


@pytest.fixture(scope="module")
def results(stack):
    """Every run, recorded in the stack's metadata DB and store; the HITL one left waiting."""
    from airflow_aimod.demo.anomalies import with_order_spike
    from airflow_aimod.demo.run import SPIKE_DAY
    from airflow_aimod.demo.warehouse import build_warehouse

    workdir = stack.workdir
    build_warehouse(workdir / "warehouse.db")
    with_order_spike(workdir / "warehouse.db", workdir / "warehouse_spiked.db", day=SPIKE_DAY)
    runs = DashboardRuns(stack, workdir)
    try:
        quickstart = runs.requests("quickstart", list(REQUESTS.values()), anomalies=workdir / "warehouse_spiked.db")
        broken, = runs.requests("broken", [BROKEN], warehouse=workdir / "nowhere" / "warehouse.db")
        hitl_run = runs.park(HITL_DAG, HITL)
        base = f"/dags/{HITL_DAG}/dagRuns/{hitl_run}/taskInstances/route/xcomEntries/return_value"
        yield {"runs": dict(zip(REQUESTS, quickstart)), "broken": broken, "hitl_run": hitl_run,
               "hitl_route": stack.api("GET", base, user="analyst").json()["value"],
               "anomalies": json.loads((workdir / "anomalies.json").read_text()),
               "log": (workdir / "quickstart.log").read_text()}
    finally:
        runs.stop()


@pytest.fixture(scope="module")
def browser(stack):
    with Browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page(browser, stack, results):
    """The AiMod page as user ``analyst`` sees it, signed in through Airflow's login page."""
    signed_in = browser.signed_in(stack.base_url, "analyst", USERS["analyst"])
    signed_in.goto(f"{stack.base_url}/aimod/")
    return signed_in


def trace_of(run: dict) -> str:
    return run["xcom"]["route.return_value"]["trace_id"]


def agent_outcomes(results: dict) -> list[dict]:
    """Every agent run's XCom outcome (agent name added): the runs above, and the waiting run's route."""
    found = [{**results["hitl_route"], "agent_name": "task_router"}]
    for run in [*results["runs"].values(), results["broken"], results["anomalies"]]:
        for key, value in run["xcom"].items():
            task = key.removesuffix(".return_value")
            if task in TASK_AGENT and key.endswith(".return_value"):
                found.append({**value, "agent_name": TASK_AGENT[task]})
    return found


def airflow_task_states(stack, window_s: float = 86400) -> dict[str, dict[str, int]]:
    """Per agent, Airflow's agent task instances by state, as the page's window reads them (ended in the last
    ``window_s``, or not finished), straight from the metadata DB's ``task_instance`` table. Skipped ones (the
    branch not taken) never ran: they are no runs."""
    import psycopg

    from airflow_aimod.plugins.task_states import UNFINISHED, agent_operator_names

    names = agent_operator_names()
    query = ("SELECT operator, state, count(*) FROM task_instance WHERE operator = ANY(%s) AND "
             "state <> ALL(ARRAY['skipped', 'removed', 'upstream_failed']) AND "
             "(end_date > now() - make_interval(secs => %s) OR state = ANY(%s)) GROUP BY operator, state")
    with psycopg.connect(stack.metadata_url) as conn:
        rows = conn.execute(query, (sorted(names), window_s, list(UNFINISHED))).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for operator, state, n in rows:
        agent = counts.setdefault(names[operator], {})
        agent[state] = agent.get(state, 0) + n
    return counts


def health_rows(page) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for cells in (r.locator("td").all_inner_texts()
                                              for r in page.locator("#health tbody tr").all())}


def logged_events(log: str, trace_id: str) -> dict[str, dict]:
    """The trace's events as the runs' task logs printed them (``AIMOD_EVENT {...}``), by event id."""
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


def test_the_runs_ended_in_airflow_as_the_requests_say(results):
    runs, broken = results["runs"], results["broken"]
    assert runs["pii"]["tasks"]["sql_agent"] == "success" and runs["pii"]["tasks"]["needs_a_person"] == "success"
    assert runs["pii"]["xcom"]["sql_agent.return_value"]["status"] == "needs_approval"  # the stale approval row
    assert runs["vague"]["tasks"]["human_review"] == "success"
    assert (broken["tasks"]["route"], broken["tasks"]["sql_agent"]) == ("success", "failed")
    assert "sql_agent.return_value" not in broken["xcom"]  # the agent recorded nothing itself


def test_a_person_who_is_not_signed_in_goes_to_the_login_page(browser, stack):
    anonymous = browser.new_page()
    anonymous.goto(f"{stack.base_url}/aimod/")
    anonymous.wait_for_url(re.compile(re.escape(stack.base_url) + r"/auth/login\?next=.*aimod"))
    assert "Not authenticated" not in anonymous.inner_text("body")


def test_agent_health_equals_airflows_own_task_states(page, stack, results):
    rows = health_rows(page)
    assert sorted(rows) == sorted(HEALTH)
    airflow = airflow_task_states(stack)
    assert sorted(airflow) == sorted(HEALTH), airflow
    outcomes = agent_outcomes(results)
    for agent, expected in HEALTH.items():
        runs_, ok, escalated, failed, waiting, p50, p95, tokens_in, tokens_out, errors, timeouts = rows[agent]
        assert (runs_, ok, escalated, failed, waiting) == expected, rows[agent]
        states = airflow[agent]
        count = lambda cell: int(cell.split()[0])  # noqa: E731 - "2 (50.0%)" -> 2
        assert (count(ok) + count(escalated), count(failed), int(waiting)) == (
            states.get("success", 0), states.get("failed", 0) + states.get("up_for_retry", 0),
            states.get("awaiting_input", 0)), (agent, rows[agent], states)
        assert int(runs_) == sum(states.values()) and timeouts == "0"
        assert all(re.fullmatch(r"\d+\.\d\d s|\d+\.\d min", p) for p in (p50, p95)), (p50, p95)  # a loaded machine
        if agent != "sql_agent":  # the waiting SQL agent has spent tokens no XCom shows yet
            mine = [o["token_usage"] for o in outcomes if o["agent_name"] == agent]
            assert (tokens_in, tokens_out) == tuple(f'{sum(u[k] for u in mine):,}' for k in ("input_tokens",
                                                                                             "output_tokens"))
    # red: the failed SQL agent (25% of its finished runs), nothing else; the router's escalation is orange
    assert page.locator("#health td.bad").all_inner_texts() == ["1 (25.0%)"]
    router = page.locator('#health tr[data-agent="task_router"] td')
    assert router.nth(3).get_attribute("class") == "esc" and router.nth(4).get_attribute("class") == ""


def test_a_stale_approval_is_not_waiting_and_a_parked_task_is(page, stack, results, browser):
    rows = page.locator("#approvals tr", has_text="sql_agent")
    assert rows.count() == 1  # the quickstart PII run's row is stale: its task succeeded long ago
    assert rows.first.locator("td").all_inner_texts()[:4] == [
        "sql_agent", HITL_DAG, "sql_agent", "waiting for a person's approval: touches PII column customers.email"]
    path = f"/dags/{HITL_DAG}/runs/{quote(results['hitl_run'], safe='')}/tasks/sql_agent/required_actions"
    assert rows.first.get_by_role("link", name="Answer in Required Actions").get_attribute("href") == path
    stale = page.locator("#attention tr", has_text=results["runs"]["pii"]["run_id"])
    assert stale.count() == 0  # links carry the run id: the stale one only shows as escalated, below
    escalated = page.locator("#attention tr.att-escalated", has_text=REQUESTS["pii"])
    assert escalated.count() == 1 and escalated.locator("td").nth(2).inner_text() == "sql_agent"
    waiting = page.locator("#attention tr.att-waiting")
    assert waiting.count() == 1 and HITL in waiting.inner_text()
    assert waiting.get_by_role("link", name="Required Actions").get_attribute("href") == path
    browser.screenshot(page, "dashboard-aimod-page")
    follow = page.context.new_page()  # same sign-in; a person clicks the link
    follow.goto(f"{stack.base_url}/aimod/")
    follow.get_by_role("link", name="Answer in Required Actions").click()
    follow.wait_for_url(f"{stack.base_url}{path}")  # the Airflow UI's route for that task's required actions
    follow.close()


def test_a_task_that_failed_before_its_graph_ran_is_red_in_plain_sight(page, results):
    row = page.locator("#attention tr.att-failed")
    assert row.count() == 1
    when, status, agent, request, why, links = row.locator("td").all_inner_texts()
    assert (status, agent, request) == ("failed (Airflow: failed)", "sql_agent", BROKEN)
    assert why.startswith("task failed — ConfigurationError") and row.locator("td.why").is_visible()
    assert row.locator("td").nth(1).get_attribute("class") == "bad"
    task = f"/dags/aimod_quickstart/runs/{quote(results['broken']['run_id'], safe='')}/tasks/sql_agent"
    hrefs = {a.inner_text(): a.get_attribute("href") for a in row.locator("a").all()}
    assert hrefs["task"] == f"{task}/details" and hrefs["log"] == f"{task}?try_number=1"
    assert hrefs["trace"].endswith(f"trace={trace_of(results['broken'])}#trace") and "Required Actions" not in hrefs


def test_a_router_escalation_is_reported_as_escalation_not_error(page, results):
    rows = page.locator("#attention tr.att-escalated", has_text=REQUESTS["vague"])
    assert rows.count() == 1
    _, status, agent, _, why, _ = rows.locator("td").all_inner_texts()
    assert (status, agent) == ("escalated", "task_router") and "person" in why
    log = rows.get_by_role("link", name="log").get_attribute("href")
    assert log.endswith(f"/runs/{quote(results['runs']['vague']['run_id'], safe='')}/tasks/route?try_number=1")
    assert health_rows(page)["task_router"][4] == "0"  # no error events either


def test_business_cards_count_the_requests(page, results):
    anomaly_traces = len({v["trace_id"] for k, v in results["anomalies"]["xcom"].items()
                          if k.removesuffix(".return_value") in TASK_AGENT})
    cards = dict(zip(page.locator("#business .card span").all_inner_texts(),
                     page.locator("#business .card b").all_inner_texts()))
    resolved = 5 + anomaly_traces  # every request but the one waiting on Required Actions
    assert (cards["Requests"], cards["Requests resolved"]) == (str(resolved + 1), str(resolved))
    assert cards["Tasks completed"] == str(2 + anomaly_traces)  # answered, refused, the anomaly checks
    assert (cards["Failed"], cards["Escalated to a person"]) == ("1", "2")  # missing warehouse; PII + vague
    assert cards["Needed a human"] == f"3 ({3 / (resolved + 1):.1%})" and cards["Estimated cost"] == "$0.00"
    assert "1 request(s) still waiting for a person count as needing one." in page.inner_text("body")


def test_charts_are_drawn_with_every_finished_run(page, results):
    figures = page.locator("#charts figure")
    assert figures.locator("figcaption").all_inner_texts() == ["Finished runs", "Success rate (dashed: 90% alert)",
                                                               "Failed runs", "Tokens"]
    for svg in figures.locator("svg").all():
        box = svg.bounding_box()
        assert box and box["width"] > 400 and box["height"] > 100

    def values(figure):  # "3 · 12-03 14:00–14:05 UTC": the value, then the bucket's time
        titles = figure.locator("rect title").all_text_contents()
        assert all(t.endswith(" UTC") for t in titles), titles
        return [float(t.split(" · ")[0]) for t in titles]

    assert figures.nth(0).locator("text.axis-time").count() == 3
    assert sum(values(figures.nth(0))) == FINISHED_RUNS and sum(values(figures.nth(2))) == 1
    tokens = sum(o["token_usage"]["input_tokens"] + o["token_usage"]["output_tokens"] for o in agent_outcomes(results))
    assert sum(values(figures.nth(3))) == tokens  # the waiting run is not finished: not in any bucket
    assert figures.nth(1).locator("circle").count() >= 1


def test_a_trace_picked_from_the_list_shows_its_timeline(page, browser, results):
    trace_id = trace_of(results["runs"]["pii"])
    page.locator("#trace-pick").select_option(trace_id)
    page.wait_for_url(re.compile(rf"[?&]trace={trace_id}"))
    assert page.locator("#trace").get_attribute("data-trace-id") == trace_id
    logged = list(logged_events(results["log"], trace_id).values())
    assert page.locator("#trace p.muted").inner_text() == f"trace {trace_id} · {len(logged)} events"
    timeline = page.locator("#trace svg.timeline")
    assert svg_texts(timeline.locator(":scope > text.lbl")) == ["task_router run → answered",
                                                                "sql_agent run → needs_approval"]
    shown = [" · ".join(label.split(" · ")[:2]) for label in svg_texts(timeline.locator("g.ev text.lbl"))]
    assert shown == [f'{e["kind"]} · {e["name"]}' for e in sorted(logged, key=lambda e: e["ts"])]
    assert {"llm_call · chat", "tool_call · db.introspect", "guard · sql.read"} <= set(shown)
    assert timeline.bounding_box()["height"] > 18 * len(shown)
    browser.screenshot(page, "dashboard-trace")


def test_the_trace_picker_lists_requests_filters_by_status_and_deep_links(page, stack, results):
    page.goto(f"{stack.base_url}/aimod/")
    texts = page.locator("#trace-pick option").all_inner_texts()
    assert len([t for t in texts if HITL in t]) == 2, texts  # one entry per request, not per agent run
    page.locator("#trace-filter").select_option("waiting")
    page.wait_for_url(re.compile(r"[?&]status=waiting"))
    options = page.locator("#trace-pick option")
    assert options.count() == 1 and HITL in options.inner_text()
    assert options.get_attribute("value") == results["hitl_route"]["trace_id"]
    page.locator("#trace-filter").select_option("failed")
    page.wait_for_url(re.compile(r"[?&]status=failed"))
    assert [o.get_attribute("value") for o in page.locator("#trace-pick option").all()] == [
        trace_of(results["broken"])]
    trace_id = trace_of(results["runs"]["answered"])
    page.goto(f"{stack.base_url}/aimod/?trace={trace_id}")  # a deep link opens that trace
    assert page.locator("#trace").get_attribute("data-trace-id") == trace_id
    assert page.locator("#trace-pick").input_value() == trace_id


def test_the_airflow_ui_nav_entry_shows_the_page(browser, stack, results):
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
    ui.wait_for_url(re.compile(re.escape(stack.base_url) + rf"/dags/{HITL_DAG}/runs/.+/tasks/sql_agent/"
                               r"required_actions"))
