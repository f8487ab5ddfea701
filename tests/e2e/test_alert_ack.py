"""Critical alerts acknowledged (or not) end to end: real Airflow (api-server, scheduler, dag-processor) on
Postgres, sending through SmtpNotifier to an aiosmtpd server and SlackWebhookNotifier to a local endpoint.

``dags/aimod_alert_ack.py``: run ``ack`` pages "payments load failed" and waits on Required Actions; the on-call
user acknowledges through ``PATCH .../hitlDetails`` only once the task is parked and its worker gone (the
Airflow 3.3.2 race, ARCHITECTURE.md); the store records who. Run ``expires`` (30 s timer) pages "refunds load
failed" later and nobody answers: the scheduler's HITL timeout resumes the same task, which escalates that
alert — and only that one, although its triage saw the acknowledged alert, older than 30 s, in the store.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import REPO
from tests.pg import throwaway_database
from tests.support.notify_servers import SmtpSink, WebhookSink
from tests.support.stack import AirflowStack

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(600)]

ACK, EXPIRES = "aimod_alert_ack", "aimod_alert_ack_expires"
USERS = {"oncall": "oncall-pw-1"}
PAID, REFUNDS = "payments load failed", "refunds load failed"
DONE = ("success", "failed", "upstream_failed", "skipped")


@pytest.fixture(scope="module")
def servers():
    with SmtpSink() as smtp, WebhookSink() as hook:
        yield smtp, hook


@pytest.fixture(scope="module")
def stack(servers, tmp_path_factory):
    smtp, hook = servers
    home = tmp_path_factory.mktemp("e2e-alert-ack")
    dags = home / "dags"
    dags.mkdir()
    (dags / "aimod_alert_ack.py").symlink_to(REPO / "dags" / "aimod_alert_ack.py")  # parse only this file
    env = {"AIRFLOW_CONN_AIMOD_MAIL": smtp.connection(), "AIRFLOW_CONN_AIMOD_CHAT": hook.slack_connection(),
           "AIRFLOW_CONN_AIMOD_LLM_DEFAULT": '{"conn_type": "aimod_llm", "extra": {"backend": "offline"}}',
           "AIRFLOW__AIMOD__STORE_URL": f"sqlite:///{home / 'store.sqlite'}",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    with throwaway_database("aimod_e2e_ack") as metadata, throwaway_database("aimod_ckpt_ack") as checkpoints:
        airflow = AirflowStack(home=home, database_url=metadata, dags_folder=dags, users=USERS,
                               env={**env, "AIRFLOW__AIMOD__CHECKPOINT_URL": checkpoints})
        with airflow:
            for dag_id in (ACK, EXPIRES):
                airflow.wait_for(lambda d=dag_id: airflow.api("GET", f"/dags/{d}", user="oncall").status_code == 200,
                                 timeout=180, what=f"the dag-processor to parse {dag_id}")
            yield airflow


def trigger(stack: AirflowStack, dag_id: str, run_id: str, title: str) -> None:
    resp = stack.api("POST", f"/dags/{dag_id}/dagRuns", user="oncall",
                     json={"dag_run_id": run_id, "logical_date": None,
                           "conf": {"title": title, "source": "billing", "body": f"{title}: KeyError 'amount'"}})
    assert resp.status_code == 200, resp.text


def task(stack: AirflowStack, dag_id: str, run_id: str) -> dict:
    """The task instance, or {} while the api-server does not answer in time (a loaded machine): polls retry."""
    try:
        resp = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/page", user="oncall")
    except httpx.TimeoutException:
        return {}
    return resp.json() if resp.status_code == 200 else {}


def wait_parked(stack: AirflowStack, dag_id: str, run_id: str) -> None:
    """Until the task waits for a person and the scheduler has processed its worker's exit; fail fast if it ends."""
    def parked():
        state = task(stack, dag_id, run_id).get("state")
        if state in DONE:
            raise AssertionError(f"{dag_id}/{run_id}: page ended {state} instead of waiting for a person:\n"
                                 f"{stack.task_log(dag_id, run_id, 'page')[-3000:]}\n{stack.log_tails()}")
        return state == "awaiting_input" and stack.worker_exited(dag_id, run_id, "page")

    stack.wait_for(parked, timeout=300, what=f"{dag_id}/{run_id} to wait for an acknowledgement")


def wait_done(stack: AirflowStack, dag_id: str, run_id: str, timeout: float = 240) -> dict:
    stack.wait_for(lambda: task(stack, dag_id, run_id).get("state") in DONE, timeout=timeout,
                   what=f"{dag_id}/{run_id} to finish (last state: {task(stack, dag_id, run_id).get('state')})")
    ti = task(stack, dag_id, run_id)
    assert ti["state"] == "success", (stack.task_log(dag_id, run_id, "page", ti.get("try_number") or 1)[-3000:]
                                      + "\n" + stack.log_tails())
    resp = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/page/xcomEntries/return_value",
                     user="oncall")
    return resp.json()["value"]


def store_row(stack: AirflowStack, title: str) -> dict:
    from airflow_aimod.core.alerts import Alert
    from airflow_aimod.core.store import open_store

    fingerprint = Alert(title=title, severity="critical", source="billing").fingerprint
    with open_store(stack.env["AIRFLOW__AIMOD__STORE_URL"]) as store:
        rows = store.fetch("SELECT fingerprint, first_sent, acked_at, acked_by, escalated_at FROM aimod_alerts "
                           "WHERE fingerprint = ?", (fingerprint,))
    assert rows, f"no store row for {title!r}"
    return dict(zip(("fingerprint", "first_sent", "acked_at", "acked_by", "escalated_at"), rows[0]))


def subjects(smtp: SmtpSink) -> list[str]:
    return [str(m["Subject"]) for m in smtp.messages]


def test_an_acknowledged_critical_alert_is_recorded_and_never_escalated(stack, servers):
    smtp, hook = servers
    trigger(stack, ACK, "ack", PAID)
    wait_parked(stack, ACK, "ack")
    assert subjects(smtp) == [f"[FIRING] [CRITICAL] {PAID}"] and smtp.messages[0]["X-Rcpt"] == "oncall@example.com"
    assert [p for p, _ in hook.posts] == ["/services/T000/B000/SECRETTOKEN"] and PAID in hook.posts[0][1]["text"]
    path = f"/dags/{ACK}/dagRuns/ack/taskInstances/page/-1/hitlDetails"
    detail = stack.api("GET", path, user="oncall").json()
    assert detail["options"] == ["Acknowledge", "Escalate"] and detail["defaults"] == ["Escalate"]
    assert PAID in detail["body"]

    resp = stack.api("PATCH", path, user="oncall", json={"chosen_options": ["Acknowledge"], "params_input": {}})
    assert resp.status_code == 200, resp.text
    out = wait_done(stack, ACK, "ack")
    row = store_row(stack, PAID)
    assert out["status"] == "answered" and out["result"]["acknowledged"] == [row["fingerprint"]], out["reason"]
    assert row["acked_by"] == "oncall" and row["acked_at"] >= row["first_sent"] and row["escalated_at"] is None
    assert subjects(smtp) == [f"[FIRING] [CRITICAL] {PAID}"]


def test_an_unacknowledged_critical_alert_escalates_on_the_request_timer(stack, servers):
    from datetime import datetime

    smtp, _ = servers
    acked = store_row(stack, PAID)  # the previous test's alert: acknowledged
    time.sleep(max(0.0, acked["first_sent"] + 31 - time.time()))  # older than this DAG's 30 s at the next triage
    trigger(stack, EXPIRES, "expires", REFUNDS)
    path = f"/dags/{EXPIRES}/dagRuns/expires/taskInstances/page/-1/hitlDetails"

    def asked():  # the request is written (the task parked); under load its timer may already have run out
        if (state := task(stack, EXPIRES, "expires").get("state")) in ("failed", "upstream_failed", "skipped"):
            log = stack.task_log(EXPIRES, "expires", "page")[-3000:]
            raise AssertionError(f"page ended {state} before asking:\n{log}")
        try:
            return stack.api("GET", path, user="oncall").status_code == 200
        except httpx.TimeoutException:
            return False

    stack.wait_for(asked, timeout=300, what=f"{EXPIRES}/expires to ask for an acknowledgement")
    assert f"[FIRING] [CRITICAL] {REFUNDS}" in subjects(smtp)
    out = wait_done(stack, EXPIRES, "expires")  # nobody answers: the scheduler's timeout resumes the task
    detail, row = stack.api("GET", path, user="oncall").json(), store_row(stack, REFUNDS)
    waited = datetime.fromisoformat(detail["responded_at"]) - datetime.fromisoformat(detail["created_at"])
    assert detail["responded_by_user"] is None and detail["chosen_options"] == ["Escalate"], detail
    assert waited.total_seconds() >= 30 and row["escalated_at"] - row["first_sent"] >= 30, (waited, row)
    assert out["status"] == "answered" and out["result"]["escalated"] == [row["fingerprint"]], out
    assert "no acknowledgement in time" in out["reason"] and row["acked_at"] is None
    assert [a.get("reviewer") for a in out.get("approvals") or []] == ["timeout"], out.get("approvals")
    assert [s for s in subjects(smtp) if s.startswith("[ESCALATED]")] == [f"[ESCALATED] [CRITICAL] {REFUNDS}"]
    assert store_row(stack, PAID)["escalated_at"] is None  # acknowledged: never escalated
