"""Critical alerts someone must acknowledge: paged through Airflow's notifiers, acknowledged on Required Actions.

Trigger ``aimod_alert_ack`` with e.g. ``{"title": "payments load failed"}``: the alert goes to chat and mail
at once, then the task waits on the **Required Actions** page (state *awaiting input*, no worker slot held)
with "Acknowledge / Escalate". Acknowledge records who is on it in the AiMod store and nothing is escalated
later; Escalate — or no answer within ``escalate_after`` (the scheduler enforces the request's timeout) —
sends the escalation to the ``aimod_mail`` channel then, on the request's own timer.

``aimod_alert_ack_expires`` is the same with a 30-second timer, to watch an escalation happen.
Connections: ``aimod_chat`` (``slackwebhook`` or ``apprise``) and ``aimod_mail`` (``smtp``).
``ON_CALL`` are auth-manager user ids (with the simple auth manager: user names); only they can answer.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_aimod.operators.alert_manager import AlertManagerOperator

ON_CALL = [{"id": "admin", "name": "Admin"}, {"id": "oncall", "name": "On-call engineer"}]
ALERT = '{{ [{"title": params.title, "severity": "critical", "source": params.source, "body": params.body}] | tojson }}'
PARAMS = {"title": Param("payments load failed", type="string", minLength=1, maxLength=300),
          "source": Param("payments_load", type="string", minLength=1, maxLength=200),
          "body": Param("", type="string", maxLength=4000)}


def alert_task(escalate_after: timedelta) -> AlertManagerOperator:
    """The paging task: critical → chat + mail, acknowledged on Required Actions within ``escalate_after``."""
    return AlertManagerOperator(
        task_id="page",
        alerts=ALERT,
        channels={"chat": ["aimod_chat"], "mail": ["aimod_mail"], "escalation": ["aimod_mail"]},
        envelope={"channels": ["aimod_chat", "aimod_mail"]},
        mail_to=["oncall@example.com"],
        escalate_after=escalate_after,
        hitl=True,
        ack=True,
        assigned_users=ON_CALL,
    )


for dag_id, escalate_after in (("aimod_alert_ack", timedelta(minutes=15)),
                               ("aimod_alert_ack_expires", timedelta(seconds=30))):
    with DAG(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
             tags=["aimod", "example", "hitl"], params=PARAMS, doc_md=__doc__):
        alert_task(escalate_after)
