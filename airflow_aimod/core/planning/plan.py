"""Plans: ordered steps across agents, and the policy that bounds them before anything runs.

A plan is a list of ``Step`` s (``id``, ``agent``, ``request``, ``depends_on``, ``confidence``).
``PlanPolicy.check`` is the allow-list every plan passes — the model's, the offline planner's and
one a person edited — and fails closed: too many steps, an unknown id, a cycle, a chain deeper than
``max_depth``, an agent twice on one dependency path (``core.loops.HandoffGuard``), an agent that is
unknown, not runnable as a step or whose envelope denies what the step does. The verdict says
whether the plan may ``run``, needs a person (``human_review``) or asks for a capability no agent
has (``unsupported``); the token budget is split across the steps up front.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.loops import HandoffGuard
from airflow_aimod.core.registry import REGISTRY
from airflow_aimod.exceptions import ConfigurationError, LoopDetected

__all__ = ["HUMAN_REVIEW", "NOT_STEPS", "RUN", "STEP_ACTIONS", "STEP_INPUTS", "UNSUPPORTED", "PlanCheck", "PlanPolicy",
           "Step", "parse_steps"]

RUN, HUMAN_REVIEW, UNSUPPORTED = "run", "human_review", "unsupported"
STEP_ACTIONS = {"sql_agent": ("llm.call", "db.introspect", "sql.read"),
                "data_profiler": ("llm.call", "db.introspect", "sql.read"),
                "anomaly_detector": ("llm.call", "db.introspect", "sql.read"),
                "schema_validator": ("llm.call", "sql.read", "gx.validate", "gx.update_suite"),
                "summarizer": ("llm.call",),
                "report_generator": ("llm.call", "report.write"),
                "alert_manager": ("llm.call", "notify.send")}
"""The agents a plan step can run from its request and its upstream steps' outcomes, and the action kinds
such a step takes."""
STEP_INPUTS = {"schema_validator": ("data_profiler",), "report_generator": (), "alert_manager": ()}
"""Agents whose step reads the outcomes of steps it depends on: ``()`` any step, else one of these agents."""
NOT_STEPS = {
    "task_router": "the router picks one agent per request; a plan step already names its agent",
    "workflow_coordinator": "no plan inside a plan",
    "etl_monitor": "it diagnoses a failed task instance of another DAG it is pointed at, not a request",
    "training_orchestrator": "training needs a declared model, features and a deploy approval of its own DAG",
    "feature_engineer": "it has no behaviour yet",
    "experiment_tracker": "it reads an MLflow experiment named in its task, not in a request",
    "model_evaluator": "it needs a registered model and an evaluation set declared in its task",
    "drift_detector": "it compares a reference and a current data window declared in its task",
}
"""The agents a plan step cannot use, and why (said in the plan when a step asks for one)."""


@dataclass(frozen=True)
class Step:
    """One step: which agent, what it is asked, which steps it waits for, how sure the choice is."""

    id: str
    agent: str | None
    request: str
    depends_on: tuple[str, ...] = ()
    confidence: float = 0.0
    status: str = "ok"  # ok | low_confidence | unsupported | needs_approval
    note: str = ""
    token_budget: int | None = None  # a person may set it on an edited plan; else the policy splits the total

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "request": self.request, "depends_on": list(self.depends_on),
                "inputs_from": list(self.depends_on), "confidence": self.confidence, "status": self.status,
                "note": self.note, "token_budget": self.token_budget}


def parse_steps(raw: Any, *, max_items: int) -> list[Step]:
    """Steps from a model reply or a person's JSON; ``ConfigurationError`` saying what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError(f"the plan is not valid JSON ({exc.msg}): give a list of steps") from None
    if isinstance(raw, Mapping):
        raw = raw.get("steps")
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError("a plan is a non-empty list of {id, agent, request, depends_on} steps")
    if len(raw) > max_items:
        raise ConfigurationError(f"the plan has {len(raw)} steps, more than the maximum {max_items}")
    return [_step(item, i) for i, item in enumerate(raw)]


def _step(item: Any, i: int) -> Step:
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"step #{i + 1} must be an object with id, agent, request, depends_on")
    sid = str(item.get("id") or f"s{i + 1}").strip()[:40]
    deps = item.get("depends_on") or ()
    if isinstance(deps, str) or not isinstance(deps, Sequence):
        raise ConfigurationError(f"step {sid!r}: depends_on must be a list of step ids")
    try:
        confidence = min(max(float(item.get("confidence", 0.0)), 0.0), 1.0)
    except (TypeError, ValueError):
        confidence = 0.0
    agent, budget = item.get("agent"), item.get("token_budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 100):
        raise ConfigurationError(f"step {sid!r}: token_budget must be a whole number of tokens of at least 100")
    return Step(sid, str(agent).strip() if agent else None, str(item.get("request") or "").strip()[:2000],
                tuple(str(d).strip() for d in deps), confidence, token_budget=budget)


@dataclass(frozen=True)
class PlanCheck:
    """The policy's verdict on a plan: the decision, the checked steps, and every reason."""

    decision: str
    steps: tuple[Step, ...]
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) or f"{len(self.steps)} step(s), every one routed with confidence"

    @property
    def total_tokens(self) -> int:
        """The tokens the plan reserves up front: the sum of its steps' budgets."""
        return sum(s.token_budget or 0 for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "steps": [s.to_dict() for s in self.steps], "reason": self.reason}


@dataclass(frozen=True)
class PlanPolicy:
    """Bounds every plan: ``runnable`` maps each agent a step may use to the action kinds its step takes."""

    runnable: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(STEP_ACTIONS))
    max_steps: int = 5
    max_depth: int = 4
    threshold: float = 0.85
    floor: float = 0.1  # a best guess below it is no guess: the step is unsupported, not a question for a person
    token_budget: int = 24_000
    envelopes: Mapping[str, Any] = field(default_factory=dict)  # agent -> Envelope overriding the registry's

    def __post_init__(self) -> None:
        if not 1 <= self.max_steps <= 20 or not 1 <= self.max_depth <= 20:
            raise ConfigurationError(f"max_steps and max_depth must be in 1..20, got {self.max_steps}, {self.max_depth}")
        if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.floor < self.threshold:
            raise ConfigurationError(f"threshold must be in (0, 1] and floor in [0, threshold), got {self.threshold}, "
                                     f"{self.floor}")
        if self.token_budget < 100 * self.max_steps:
            raise ConfigurationError(f"token_budget {self.token_budget} is too small for {self.max_steps} steps")

    def check(self, steps: Sequence[Step], *, reviewed: bool = False) -> PlanCheck:
        """The verdict on ``steps``; ``reviewed``: a person chose them (confidence no longer gates)."""
        if not steps:
            return PlanCheck(UNSUPPORTED, (), ("the request names no step any agent can do",))
        if len(steps) > self.max_steps:
            return PlanCheck(HUMAN_REVIEW, tuple(steps), (f"the plan has {len(steps)} steps, more than the maximum "
                                                          f"{self.max_steps}: a person splits the work",))
        structural = self._structure(steps)
        if structural:
            return PlanCheck(HUMAN_REVIEW, tuple(steps), tuple(structural))
        agents = {s.id: s.agent for s in steps}
        checked = [self._step(s, reviewed, [agents[d] for d in s.depends_on]) for s in _in_order(steps)]
        budget = self.token_budget // len(checked)
        checked = [Step(**{**s.__dict__, "token_budget": s.token_budget or budget}) for s in checked]
        reasons = tuple(f"step {s.id}: {s.note}" for s in checked if s.status != "ok")
        statuses = {s.status for s in checked} - ({"low_confidence", "needs_approval"} if reviewed else set())
        decision = UNSUPPORTED if "unsupported" in statuses else HUMAN_REVIEW if statuses - {"ok"} else RUN
        return PlanCheck(decision, tuple(checked), reasons)

    def _structure(self, steps: Sequence[Step]) -> list[str]:
        ids = [s.id for s in steps]
        if len(set(ids)) != len(ids):
            return [f"step ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"]
        known, problems = set(ids), []
        for s in steps:
            if missing := [d for d in s.depends_on if d not in known]:
                problems.append(f"step {s.id} depends on unknown step(s) {missing}")
        if problems:
            return problems
        try:
            order = list(graphlib.TopologicalSorter({s.id: s.depends_on for s in steps}).static_order())
        except graphlib.CycleError as exc:
            return [f"the steps depend on each other in a cycle ({' → '.join(exc.args[1])}): a plan runs forward"]
        by_id = {s.id: s for s in steps}
        return self._paths(by_id, order)

    def _paths(self, by_id: Mapping[str, Step], order: Sequence[str]) -> list[str]:
        """Walk every dependency path with the handoff guard: no agent twice, at most ``max_depth`` deep."""
        guard, chains = HandoffGuard(max_depth=self.max_depth), {}
        for sid in order:
            step, chains[sid] = by_id[sid], []
            agent = step.agent or "?"
            for chain in [c for d in step.depends_on for c in chains[d]] or [["workflow_coordinator"]]:
                handoffs = [{"from": a, "to": b} for a, b in zip(chain, chain[1:])]
                try:
                    guard.check(handoffs, source=chain[-1], target=agent, reason=sid)
                except LoopDetected as exc:
                    return [f"step {sid}: {exc}"]
                chains[sid].append([*chain, agent])
            if len(chains[sid]) > 256:
                return [f"step {sid} sits on {len(chains[sid])} dependency paths: simplify the plan"]
        return []

    def _step(self, step: Step, reviewed: bool, upstream: Sequence[str | None]) -> Step:
        def marked(status: str, note: str) -> Step:
            return Step(**{**step.__dict__, "status": status, "note": note})

        if not step.request:
            return marked("unsupported", "the step has no request")
        if step.agent is None:
            return marked("unsupported", f"no agent can do {step.request!r}")
        if step.agent not in REGISTRY or step.agent in ("task_router", "workflow_coordinator"):
            why = f": {NOT_STEPS[step.agent]}" if step.agent in NOT_STEPS else ""
            return marked("unsupported", f"{step.agent!r} is not an agent a plan step can use{why}")
        if not reviewed and (step.confidence < self.floor or
                             step.agent not in self.runnable and step.confidence < self.threshold):
            return marked("unsupported", f"no agent can do {step.request!r} (best guess {step.agent}, confidence "
                                         f"{step.confidence:.2f})")
        if step.agent in NOT_STEPS:
            return marked("unsupported", f"{step.agent} cannot run as a plan step: {NOT_STEPS[step.agent]}")
        if step.agent not in self.runnable:
            return marked("unsupported", f"{step.agent} cannot run as a plan step here (runnable: "
                                         f"{', '.join(sorted(self.runnable))})")
        if missing := _missing_input(step.agent, upstream):
            return marked("unsupported", missing)
        envelope = self.envelopes.get(step.agent) or REGISTRY[step.agent].envelope
        for kind in self.runnable[step.agent]:
            if kind in envelope.deny or kind not in envelope.allow:
                return marked("unsupported", f"{step.agent}'s envelope does not allow {kind}, which the step needs")
            if kind in envelope.require_approval:
                return marked("needs_approval", f"{kind} by {step.agent} needs a person's approval")
        if not reviewed and step.confidence < self.threshold:
            return marked("low_confidence", f"{step.agent} chosen with confidence {step.confidence:.2f}, below "
                                            f"{self.threshold:.2f}")
        return step


def _missing_input(agent: str, upstream: Sequence[str | None]) -> str:
    """Why a step of ``agent`` after steps of ``upstream`` agents has nothing to read ('' when it has)."""
    if agent not in STEP_INPUTS:
        return ""
    needed = STEP_INPUTS[agent]
    if needed and not set(needed) & set(upstream):
        return (f"a {agent} step reads the outcome of a {' or '.join(needed)} step it depends on: add one before "
                "it (e.g. 'profile the orders table, then validate it')")
    if not upstream:
        return f"a {agent} step works on the outcomes of the steps it depends on, and this one depends on none"
    return ""


def _in_order(steps: Sequence[Step]) -> list[Step]:
    """The steps in an order that runs every step after its dependencies, keeping the given order otherwise."""
    done: set[str] = set()
    ordered: list[Step] = []
    while len(ordered) < len(steps):
        step = next(s for s in steps if s.id not in done and set(s.depends_on) <= done)
        ordered.append(step)
        done.add(step.id)
    return ordered
