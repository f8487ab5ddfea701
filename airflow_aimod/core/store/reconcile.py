"""What the page counts: the store's outcomes reconciled with Airflow's own task-instance states.

The store says what the agent recorded; Airflow says how the task ended. They disagree when a
task fails after its agent recorded an answer (a failing XCom push, a downstream check in the
same task), when a worker is killed or times out before anything was recorded, and when a run
paused for a person whose request was since answered, timed out or cleared. Airflow wins:

========================  =======================================================
Airflow task state        verdict
========================  =======================================================
failed, up_for_retry      ``failed`` (whatever the agent recorded)
awaiting_input / a HITL   ``waiting`` (a person is asked now)
request with no answer
running, queued, ...      ``running``
success                   the agent's verdict: ``failed`` for an agent error the task
                          routed on, ``escalated`` for a hand-off, else ``succeeded``
(no task instance known)  the agent's verdict alone (runs outside Airflow, purged rows)
========================  =======================================================

An Airflow task with no outcome at all is a run too (agent taken from the operator). Several
outcomes of one task instance (dag, run, task, map index) are its tries: the latest takes the task's state; an earlier one
that never recorded an end ended when the next try began, so it failed. A run keeps the agent's own
times unless Airflow's state overrides it (then it ended when the task did).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_aimod.core.store.records import HUMAN_STATUSES, SUCCESS_STATUSES

FAILED_TASK_STATES = frozenset({"failed", "up_for_retry", "upstream_failed"})
ACTIVE_TASK_STATES = frozenset({"running", "queued", "scheduled", "deferred", "up_for_reschedule", "restarting"})
WAITING_TASK_STATES = frozenset({"awaiting_input"})
OVERRIDING_STATES = FAILED_TASK_STATES | WAITING_TASK_STATES | ACTIVE_TASK_STATES  # Airflow decides these
ERROR_STATUSES = frozenset({"failed", "budget_exceeded"})
VERDICTS = ("succeeded", "escalated", "failed", "waiting", "running")
FINISHED = frozenset({"succeeded", "escalated", "failed"})

TaskKey = tuple[str, str, str, int]  # dag_id, run_id, task_id, map_index (-1: not mapped)


@dataclass(frozen=True)
class TaskState:
    """One agent task instance as Airflow's metadata DB has it (times in epoch seconds)."""

    dag_id: str
    run_id: str
    task_id: str
    state: str
    agent: str = ""
    start: float | None = None
    end: float | None = None
    try_number: int = 1
    map_index: int = -1
    waiting_since: float | None = None  # a HITL request nobody has answered yet

    @property
    def key(self) -> TaskKey:
        return (self.dag_id, self.run_id, self.task_id, self.map_index)


class TaskStates(Protocol):
    """Where Airflow's task states come from (the plugin reads the metadata DB; tests may list them)."""

    def in_window(self, *, window: float, now: float, dag_ids: Collection[str] | None,
                  states: Collection[str] | None = None) -> list[TaskState]:
        """Agent task instances that ended in ``(now - window, now]`` or have not ended (only those in
        ``states`` when given)."""

    def for_keys(self, keys: Collection[TaskKey]) -> list[TaskState]:
        """The task instances of these (dag_id, run_id, task_id, map_index), whenever they ended."""


@dataclass
class Run:
    """One agent run as the page counts it."""

    trace_id: str
    agent: str
    verdict: str
    started_at: float
    ended_at: float
    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    stored: str = ""  # the status the agent recorded ('' when nothing was)
    airflow_state: str = ""  # '' when Airflow does not know the task
    reason: str = ""
    request: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    needed_human: bool = False
    try_number: int = 0
    map_index: int = -1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.verdict in FINISHED

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"} | self.extra


def agent_verdict(stored: str) -> str:
    """The verdict from what the agent recorded alone."""
    if stored in SUCCESS_STATUSES:
        return "succeeded"
    if stored in ERROR_STATUSES:
        return "failed"
    if stored == "escalated":
        return "escalated"
    if stored == "needs_approval":
        return "waiting"
    return "running"


def verdict(stored: str, task: TaskState | None) -> str:
    """The verdict of a run the agent recorded as ``stored`` ('' for nothing) whose task is ``task``."""
    if task is None or not task.state:
        return agent_verdict(stored) if stored else "running"
    if task.state in FAILED_TASK_STATES:
        return "failed"
    if task.state in WAITING_TASK_STATES or task.waiting_since is not None:
        return "waiting"
    if task.state in ACTIVE_TASK_STATES:
        return "running"
    if task.state == "success":
        mine = agent_verdict(stored) if stored else "succeeded"
        return "escalated" if mine in ("waiting", "escalated") else "failed" if mine == "failed" else "succeeded"
    return agent_verdict(stored) if stored else "succeeded"  # skipped/removed: what the agent said


def reconcile(outcomes: Iterable[Mapping[str, Any]], tasks: Iterable[TaskState], *, window: float,
              now: float) -> list[Run]:
    """Every run in ``(now - window, now]`` (and every run still going), Airflow's state applied."""
    by_key: dict[TaskKey, TaskState] = {}
    for task in tasks:
        by_key[task.key] = _worst(by_key.get(task.key), task)
    rows = sorted(outcomes, key=lambda o: o["ended_at"])
    latest = {outcome_key(o): id(o) for o in rows if o.get("task_id")}
    runs, seen = [], set()
    for o in rows:
        key = outcome_key(o)
        task = by_key.get(key) if o.get("task_id") else None
        if task is not None and latest[key] != id(o):  # an earlier try of this task
            runs.append(_run(o, agent_verdict(o["status"]) if o["status"] in SUCCESS_STATUSES | ERROR_STATUSES
                             | {"escalated"} else "failed", None, o["ended_at"]))
            continue
        seen.add(key)
        overrides = task is not None and task.end and task.state in OVERRIDING_STATES
        runs.append(_run(o, verdict(o["status"], task), task, task.end if overrides else o["ended_at"]))
    for key, task in by_key.items():
        if key not in seen and task.state not in ("skipped", "removed", "upstream_failed", "none", ""):
            runs.append(_task_only(task, now))
    return [r for r in runs if not r.finished or now - window < r.ended_at <= now]


def outcome_key(o: Mapping[str, Any]) -> TaskKey:
    """The task instance an outcome row belongs to."""
    return (o["dag_id"], o["run_id"], o["task_id"], int(o.get("map_index", -1)))


def settled_run(o: Mapping[str, Any]) -> Run:
    """The run of an outcome whose verdict is the agent's (no task state of Airflow's overrides it)."""
    return _run(o, agent_verdict(o["status"]), None, o["ended_at"])


def _run(o: Mapping[str, Any], decided: str, task: TaskState | None, ended: float) -> Run:
    human = bool(o.get("needed_human")) or decided in ("waiting", "escalated") or o["status"] in HUMAN_STATUSES
    return Run(trace_id=o["trace_id"], agent=o["agent"], verdict=decided, started_at=o["started_at"],
               ended_at=max(ended, o["started_at"]), dag_id=o["dag_id"], run_id=o["run_id"], task_id=o["task_id"],
               stored=o["status"], airflow_state=task.state if task else "", reason=o.get("reason") or "",
               request=o.get("request") or "", model=o.get("model") or "", input_tokens=int(o["input_tokens"] or 0),
               output_tokens=int(o["output_tokens"] or 0), llm_calls=int(o["llm_calls"] or 0), needed_human=human,
               try_number=task.try_number if task else 0, map_index=int(o.get("map_index", -1)), extra=_waiting(task))


def _task_only(task: TaskState, now: float) -> Run:
    decided = verdict("", task)
    start = task.start if task.start is not None else (task.end or now)
    end = task.end if task.end is not None else now
    return Run(trace_id="", agent=task.agent or task.task_id, verdict=decided, started_at=start, ended_at=max(end, start),
               dag_id=task.dag_id, run_id=task.run_id, task_id=task.task_id, airflow_state=task.state,
               reason=f"the agent recorded no outcome; Airflow says the task is {task.state}",
               needed_human=decided == "waiting", try_number=task.try_number, map_index=task.map_index,
               extra=_waiting(task))


def _waiting(task: TaskState | None) -> dict[str, Any]:
    return {"waiting_since": task.waiting_since} if task is not None and task.waiting_since is not None else {}


_RANK = {"failed": 0, "up_for_retry": 1, "awaiting_input": 2}


def _worst(old: TaskState | None, new: TaskState) -> TaskState:
    """Mapped instances of one task: the one that most needs attention stands for them all."""
    if old is None:
        return new
    return min((old, new), key=lambda t: (_RANK.get(t.state, 9), -(t.end or 0)))
