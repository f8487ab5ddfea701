"""Answer Required Actions during ``dag.test()``, through Airflow's own HITL route, with no api-server.

``dag.test()`` parks a HITL task in ``awaiting_input`` and loops, logging "Waiting for Human-in-the-loop
input", until a response recorded from outside flips it back to scheduled. ``Reviewer`` is a logging
handler on that loop: when it logs the wait, the task has finished parking (its worker code returned and
its state is committed), which is when a person on the UI would answer. The answer goes through the
handler of ``PATCH .../hitlDetails`` itself (``update_hitl_detail``: it records who answered and resumes the
task with ``HITLDetail.as_resume_event_payload()``, the event ``execute_complete`` receives in production).
Only the HTTP layer and the auth dependency are skipped. An unexpected wait fails the run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

WAIT_LOGGER = "airflow.sdk.definitions.dag"
WAIT_MESSAGE = "Waiting for Human-in-the-loop input"


@dataclass
class Answer:
    """What a reviewer chooses on one request: an option, edited fields, who they are."""

    task_id: str
    option: str
    params_input: Mapping[str, Any] = field(default_factory=dict)
    user: str = "steward"
    seen: str = ""  # the request's body as the reviewer saw it (filled in when answered)


class UnexpectedWait(AssertionError):
    """Raised (out of dag.test) when a task waits for a person and no answer for it is queued."""


class Reviewer(logging.Handler):
    """Answers the queued ``answers`` in order, one per wait of ``dag_id``'s run."""

    def __init__(self, dag_id: str, answers: list[Answer]) -> None:
        super().__init__(level=logging.INFO)
        self.dag_id, self.pending, self.given = dag_id, list(answers), []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith(WAIT_MESSAGE):
            return
        waiting = _awaiting(self.dag_id)
        if not self.pending or self.pending[0].task_id not in waiting:
            raise UnexpectedWait(f"{sorted(waiting)} wait for a person; the queued answers are "
                                 f"{[a.task_id for a in self.pending]}")
        answer = self.pending.pop(0)
        answer.seen = waiting[answer.task_id][1]
        _respond(self.dag_id, waiting[answer.task_id][0], answer)
        self.given.append(answer)


@contextmanager
def answering(dag_id: str, *answers: Answer) -> Iterator[Reviewer]:
    """Answer ``answers`` while the body runs ``dag.test()``; every one must have been used by the end."""
    logger = logging.getLogger(WAIT_LOGGER)
    reviewer, level = Reviewer(dag_id, list(answers)), logger.level
    logger.addHandler(reviewer)
    logger.setLevel(logging.INFO)
    try:
        yield reviewer
    finally:
        logger.removeHandler(reviewer)
        logger.setLevel(level)
    assert not reviewer.pending, f"never asked: {[a.task_id for a in reviewer.pending]}"


def _awaiting(dag_id: str) -> dict[str, tuple[str, str]]:
    """task id → (run id, request body) of the task instances of ``dag_id`` waiting for input."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.run_id, HITLDetail.body).join(
            HITLDetail, HITLDetail.ti_id == TaskInstance.id).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.state == TaskInstanceState.AWAITING_INPUT).all()
    return {task_id: (run_id, body or "") for task_id, run_id, body in rows}


def _respond(dag_id: str, run_id: str, answer: Answer) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    payload = UpdateHITLDetailPayload(chosen_options=[answer.option], params_input=dict(answer.params_input))
    with create_session() as session:
        update_hitl_detail(dag_id=dag_id, dag_run_id=run_id, task_id=answer.task_id, map_index=-1,
                           update_hitl_detail_payload=payload, session=session,
                           user=SimpleAuthManagerUser(username=answer.user, role="USER"))
