"""dags/aimod_alerts.py under dag.test(), sending through Airflow's real notifiers to local servers:
SmtpNotifier → an aiosmtpd server on loopback, SlackWebhookNotifier and AppriseNotifier → a local HTTP endpoint."""

from __future__ import annotations

import time

import pytest

from tests.conftest import example_dag
from tests.support.notify_servers import SmtpSink, WebhookSink

pytestmark = pytest.mark.airflow


@pytest.fixture
def servers(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with SmtpSink() as smtp, WebhookSink() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_MAIL", smtp.connection())
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_CHAT", hook.slack_connection())
        yield smtp, hook


def run(dag, burst):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = dag.test(run_conf={"burst": burst})
    with create_session() as session:
        row = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id,
                                              XComModel.task_id == "alerts", XComModel.key == "return_value").one()
    return str(run.state), row.value


def test_a_burst_of_1000_alerts_is_one_mail_and_one_chat_message_per_group_and_escalates_later(airflow_db, servers):
    from airflow_aimod.core.alerts import Alert, AlertState
    from airflow_aimod.observability.sinks import shared_store, store_url

    smtp, hook = servers
    dag = example_dag("aimod_alerts")
    state, out = run(dag, 1000)
    assert state == "success" and out["status"] == "answered", out["reason"]
    assert out["result"]["received"] >= 1000 and out["result"]["suppressed"] == 999
    assert len(smtp.messages) == 1 and smtp.messages[0]["X-Rcpt"] == "oncall@example.com"
    assert smtp.messages[0]["Subject"] == "[FIRING] [CRITICAL] orders load failed"
    texts = [body.get("text", "") for path, body in hook.posts]
    assert all(path == "/services/T000/B000/SECRETTOKEN" for path, _ in hook.posts)
    assert any("critical: orders load failed" in t for t in texts)  # the burst, once
    assert any("orders per hour abnormal" in t for t in texts)      # the anomaly agent's alert
    assert "SECRETTOKEN" not in str(out)

    burst = Alert(title="orders load failed", severity="critical", source="orders_load")
    alerts = AlertState(shared_store(store_url()))
    assert alerts.get(burst.fingerprint).occurrences == 1000

    state, again = run(dag, 5)  # inside the throttle window: counted, not sent
    assert again["result"]["suppressed"] == 5 + 1 and len(smtp.messages) == 1  # + the anomaly alert's repeat
    assert alerts.get(burst.fingerprint).occurrences == 1005

    # nobody acknowledged: age the first send past escalate_after (15 min), as the clock would
    with shared_store(store_url()).locked(1) as conn:
        conn.execute("UPDATE aimod_alerts SET first_sent = ? WHERE fingerprint = ?",
                     (time.time() - 16 * 60, burst.fingerprint))
    state, late = run(dag, 0)
    assert late["result"]["escalated"] == [burst.fingerprint]
    assert len(smtp.messages) == 2 and smtp.messages[1]["Subject"].startswith("[ESCALATED] [CRITICAL]")


def test_the_apprise_notifier_reaches_a_local_endpoint_and_errors_carry_no_url(airflow_db, monkeypatch):
    from airflow_aimod.core.alerts import render
    from airflow_aimod.exceptions import NotificationFailed
    from airflow_aimod.notifications.channels import ChannelSender

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    leak = "login failed: postgresql://app:s3cretpw@db/prod"
    message = render("send", [{"alert": {"title": "disk full", "severity": "critical", "group": "db", "body": leak,
                                         "fingerprint": "f1"}, "repeats": 0}])
    with WebhookSink() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_APPRISE", hook.apprise_connection())
        ChannelSender()("aimod_apprise", message)
        monkeypatch.setenv("AIRFLOW_CONN_AIMOD_DEAD", hook.slack_connection().replace(str(hook.port), "9"))
        with pytest.raises(NotificationFailed) as failed:
            ChannelSender()("aimod_dead", message)
    assert hook.posts and hook.posts[0][0] == "/apprise" and "disk full" in hook.posts[0][1]["message"]
    assert "s3cretpw" not in str(hook.posts)  # alert text is scrubbed before any notifier sees it
    assert "SECRETTOKEN" not in str(failed.value) and "aimod_dead" in str(failed.value)


def test_acknowledgement_times_out_after_escalate_after_and_the_timeout_escalates(airflow_db):
    from datetime import timedelta

    from airflow_aimod.exceptions import ConfigurationError
    from airflow_aimod.operators.alert_manager import AlertManagerOperator

    example = example_dag("aimod_alert_ack_expires").get_task("page")
    assert example.hitl_settings.response_timeout == timedelta(seconds=30)
    assert example.hitl_settings.timeout_outcome == "reject"
    op = AlertManagerOperator(task_id="a", hitl=True, ack=True, escalate_after=timedelta(minutes=5))
    assert op.hitl_settings.response_timeout == timedelta(minutes=5) and op.policy.escalate_after_s == 300
    for kwargs, says in (({"hitl": False}, "needs hitl=True"),
                         ({"response_timeout": timedelta(minutes=1)}, "set escalate_after, not response_timeout"),
                         ({"timeout_outcome": "approve"}, "leave timeout_outcome at 'reject'")):
        with pytest.raises(ConfigurationError, match=says):
            AlertManagerOperator(task_id="a", **{"hitl": True, **kwargs}, ack=True)
