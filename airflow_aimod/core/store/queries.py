"""``DashboardQueries``: agent health, business figures, charts, traces and pending approvals.

Pure functions of the store and an injected ``now`` (epoch seconds). Windows are
``(now - window, now]`` on an outcome's ``ended_at`` or an event's ``ts``. Every query
is one aggregated, indexed statement; list results carry a LIMIT. ``dag_ids`` (when given)
restricts everything to those DAGs, which is how the dashboard applies Airflow's DAG permissions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import Any

from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.pricing import PriceTable, nearest_rank
from airflow_aimod.core.store.reconcile import Run, TaskStates, reconcile

_EVENT_FIELDS = ("event_id", "trace_id", "agent", "kind", "name", "ts", "dag_id", "run_id", "task_id", "data")
_APPROVAL_FIELDS = ("trace_id", "agent", "dag_id", "run_id", "task_id", "reason", "started_at", "ended_at")
_OUTCOME_FIELDS = ("trace_id", "agent", "task_id", "dag_id", "run_id", "status", "reason", "request", "model",
                   "started_at", "ended_at", "input_tokens", "output_tokens", "llm_calls", "needed_human")


class DashboardQueries:
    """Read side of the AiMod store; ``price_table`` turns tokens into cost; ``task_states`` (Airflow's
    task-instance states, see ``reconcile``) decides how each run ended — without it, the store alone does."""

    def __init__(self, store: EventStore, *, price_table: PriceTable | None = None,
                 task_states: TaskStates | None = None) -> None:
        self.store = store
        self.prices = price_table or PriceTable()
        self.task_states = task_states

    def runs(self, *, window: float, now: float, dag_ids: Collection[str] | None = None) -> list[Run]:
        """Every agent run of the window (and every one still going), reconciled with Airflow."""
        scope, params = _scope(dag_ids)
        rows = self._outcomes(f"ended_at > ? AND ended_at <= ?{scope}", (now - window, now, *params))
        if self.task_states is None:
            return reconcile(rows, (), window=window, now=now)
        tasks = self.task_states.in_window(window=window, now=now, dag_ids=dag_ids)
        have = {(r["dag_id"], r["run_id"], r["task_id"]) for r in rows}
        rows += self._outcomes_of({t.key for t in tasks} - have, scope, params)
        known = {t.key for t in tasks}
        orphans = {(r["dag_id"], r["run_id"], r["task_id"]) for r in rows if r["task_id"]} - known
        tasks += self.task_states.for_keys(orphans) if orphans else []
        return reconcile(rows, tasks, window=window, now=now)

    def agent_health(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                     runs: list[Run] | None = None) -> list[dict]:
        """Per agent: runs, how they ended (succeeded, escalated to a person, failed) as counts and rates of
        the finished ones, waiting/running, latency p50/p95 (s), tokens, error events and timeouts."""
        runs = self.runs(window=window, now=now, dag_ids=dag_ids) if runs is None else runs
        health: dict[str, dict[str, Any]] = {}
        for run in runs:
            _count(health.setdefault(run.agent, _health_row(run.agent)), run)
        for agent, errors, timeouts in self._errors(window=window, now=now, dag_ids=dag_ids):
            health.setdefault(agent, _health_row(agent)).update(errors=int(errors), timeouts=int(timeouts or 0))
        for agent, row in health.items():
            durations = sorted(r.ended_at - r.started_at for r in runs if r.agent == agent and r.finished)
            row.update(_rates(row), p50_s=nearest_rank(durations, 50), p95_s=nearest_rank(durations, 95))
        return [health[agent] for agent in sorted(health)]

    def series(self, *, window: float, now: float, buckets: int = 24, agent: str | None = None,
               dag_ids: Collection[str] | None = None, runs: list[Run] | None = None) -> list[dict]:
        """Finished runs per time bucket (oldest first): runs, how they ended, rates, tokens."""
        if buckets < 1 or window <= 0:
            raise ValueError("series needs window > 0 and buckets >= 1")
        width = window / buckets
        runs = self.runs(window=window, now=now, dag_ids=dag_ids) if runs is None else runs
        out = [{"start": now - window + i * width, "end": now - window + (i + 1) * width, "runs": 0, "finished": 0,
                "succeeded": 0, "escalated": 0, "failed": 0, "tokens": 0} for i in range(buckets)]
        for run in runs:
            if run.finished and (agent is None or run.agent == agent):
                slot = out[min(max(int((run.ended_at - (now - window)) // width), 0), buckets - 1)]
                slot["runs"] += 1
                _count(slot, run)
                slot["tokens"] += run.input_tokens + run.output_tokens
        for slot in out:
            slot.update(_rates(slot))
        return out

    def business(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                 runs: list[Run] | None = None) -> dict[str, Any]:
        """Requests of the window: resolved (every run over), completed (every run succeeded), failed,
        escalated, waiting; how many needed a person (those still waiting included); time to resolution
        (first start to last end, approval waits included); estimated cost."""
        runs = self.runs(window=window, now=now, dag_ids=dag_ids) if runs is None else runs
        requests: dict[str, list[Run]] = {}
        for run in runs:
            requests.setdefault(run.trace_id or f"task:{run.dag_id}/{run.run_id}/{run.task_id}", []).append(run)
        done = [rs for rs in requests.values() if all(r.finished for r in rs)]
        resolution = sorted(max(r.ended_at for r in rs) - min(r.started_at for r in rs) for rs in done)
        human = sum(1 for rs in requests.values() if any(r.needed_human for r in rs))
        return {
            "requests": len(requests), "requests_resolved": len(done),
            "tasks_completed": sum(1 for rs in done if all(r.verdict == "succeeded" for r in rs)),
            "requests_failed": sum(1 for rs in done if any(r.verdict == "failed" for r in rs)),
            "requests_escalated": sum(1 for rs in done if any(r.verdict == "escalated" for r in rs)
                                      and not any(r.verdict == "failed" for r in rs)),
            "requests_waiting": sum(1 for rs in requests.values() if any(r.verdict == "waiting" for r in rs)),
            "needed_human": human, "human_share": human / len(requests) if requests else None,
            "resolution_p50_s": nearest_rank(resolution, 50), "resolution_p95_s": nearest_rank(resolution, 95),
            "resolution_mean_s": sum(resolution) / len(resolution) if resolution else None,
            **self._cost(window=window, now=now, dag_ids=dag_ids),
        }

    def attention(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                  runs: list[Run] | None = None, limit: int = 100) -> list[dict]:
        """Runs that need a look: failed, escalated or waiting for a person, newest first."""
        runs = self.runs(window=window, now=now, dag_ids=dag_ids) if runs is None else runs
        picked = [r for r in runs if r.verdict in ("failed", "escalated", "waiting")]
        return [r.to_dict() for r in sorted(picked, key=lambda r: -r.ended_at)[:limit]]

    def requests(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                 runs: list[Run] | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
        """One entry per request (trace) of the window, newest first: time, request text, status, agents."""
        runs = self.runs(window=window, now=now, dag_ids=dag_ids) if runs is None else runs
        grouped: dict[str, list[Run]] = {}
        for run in runs:
            if run.trace_id:
                grouped.setdefault(run.trace_id, []).append(run)
        out = []
        for trace_id, rs in grouped.items():
            rs.sort(key=lambda r: r.started_at)
            state = next((v for v in ("failed", "waiting", "running", "escalated") if any(r.verdict == v for r in rs)),
                         "succeeded")
            out.append({"trace_id": trace_id, "status": state, "request": next((r.request for r in rs if r.request), ""),
                        "agents": [r.agent for r in rs], "dag_id": rs[0].dag_id, "run_id": rs[0].run_id,
                        "started_at": rs[0].started_at, "ended_at": max(r.ended_at for r in rs)})
        out = [r for r in out if status in (None, "", "all") or r["status"] == status]
        return sorted(out, key=lambda r: -r["ended_at"])[:limit]

    def trace(self, trace_id: str, *, limit: int = 2000, dag_ids: Collection[str] | None = None) -> dict[str, Any]:
        """One request: its events in time order (at most ``limit``) and its agents' outcomes."""
        scope, params = _scope(dag_ids)
        rows = self.store.fetch(f"SELECT {', '.join(_EVENT_FIELDS)} FROM aimod_events WHERE trace_id = ?{scope} "
                                "ORDER BY ts, event_id LIMIT ?", (trace_id, *params, int(limit)))
        events = [dict(zip(_EVENT_FIELDS, row)) for row in rows]
        for event in events:
            event["data"] = json.loads(event["data"])
        outcomes = self.store.fetch(
            f"SELECT agent, task_id, status, reason, started_at, ended_at, input_tokens, output_tokens, needed_human "
            f"FROM aimod_outcomes WHERE trace_id = ?{scope} ORDER BY started_at", (trace_id, *params))
        keys = ("agent", "task_id", "status", "reason", "started_at", "ended_at", "input_tokens", "output_tokens",
                "needed_human")
        return {"trace_id": trace_id, "events": events, "outcomes": [dict(zip(keys, r)) for r in outcomes],
                "truncated": len(events) >= limit}

    def pending_approvals(self, *, limit: int = 100, dag_ids: Collection[str] | None = None,
                          now: float | None = None) -> list[dict]:
        """Runs a person is asked about now, newest first. With Airflow's task states: the tasks Airflow
        holds for an answer (a paused run whose request was answered, timed out or cleared is not pending);
        without: the runs the store has as paused."""
        if self.task_states is None:
            scope, params = _scope(dag_ids)
            rows = self.store.fetch(f"SELECT {', '.join(_APPROVAL_FIELDS)} FROM aimod_outcomes "
                                    f"WHERE status = 'needs_approval'{scope} ORDER BY ended_at DESC LIMIT ?",
                                    (*params, int(limit)))
            return [{**dict(zip(_APPROVAL_FIELDS, row)), "waiting_since": row[-1]} for row in rows]
        now = time.time() if now is None else now
        scope, params = _scope(dag_ids)
        rows = self._outcomes(f"status = 'needs_approval'{scope} ORDER BY ended_at DESC LIMIT ?", (*params, 1000))
        tasks = self.task_states.in_window(window=60.0, now=now, dag_ids=dag_ids)
        have = {(r["dag_id"], r["run_id"], r["task_id"]) for r in rows}
        rows += self._outcomes_of({t.key for t in tasks} - have, scope, params)
        unknown = {(r["dag_id"], r["run_id"], r["task_id"]) for r in rows if r["task_id"]} - {t.key for t in tasks}
        tasks += self.task_states.for_keys(unknown) if unknown else []
        waiting = [r for r in reconcile(rows, tasks, window=60.0, now=now) if r.verdict == "waiting"]
        return [{**{k: getattr(r, k) for k in _APPROVAL_FIELDS}, "waiting_since": r.extra.get("waiting_since",
                                                                                             r.ended_at)}
                for r in sorted(waiting, key=lambda r: -r.ended_at)[:limit]]

    def recent_traces(self, *, limit: int = 20, dag_ids: Collection[str] | None = None) -> list[dict]:
        """The latest outcomes (one per agent run), newest first, to pick a trace from."""
        scope, params = _scope(dag_ids)
        keys = ("trace_id", "agent", "status", "dag_id", "ended_at")
        rows = self.store.fetch(f"SELECT {', '.join(keys)} FROM aimod_outcomes WHERE 1 = 1{scope} "
                                "ORDER BY ended_at DESC LIMIT ?", (*params, int(limit)))
        return [dict(zip(keys, row)) for row in rows]

    # -- parts ---------------------------------------------------------------------------------
    def _errors(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> list[tuple]:
        scope, params = _scope(dag_ids)
        return self.store.fetch(
            "SELECT agent, COUNT(*), SUM(CASE WHEN detail = 'AgentTimeout' THEN 1 ELSE 0 END) FROM aimod_events "
            f"WHERE kind = 'error' AND ts > ? AND ts <= ?{scope} GROUP BY agent", (now - window, now, *params))

    def _outcomes(self, where: str, params: tuple) -> list[dict[str, Any]]:
        rows = self.store.fetch(f"SELECT {', '.join(_OUTCOME_FIELDS)} FROM aimod_outcomes WHERE {where}", params)
        return [dict(zip(_OUTCOME_FIELDS, row)) for row in rows]

    def _outcomes_of(self, keys: set[tuple[str, str, str]], scope: str, params: tuple) -> list[dict[str, Any]]:
        """The outcomes of these task instances (looked up by run, 200 runs a query)."""
        runs, found = sorted({k[1] for k in keys}), []
        for i in range(0, len(runs), 200):
            chunk = runs[i:i + 200]
            found += [r for r in self._outcomes(f"run_id IN ({', '.join('?' for _ in chunk)}){scope}",
                                                (*chunk, *params)) if (r["dag_id"], r["run_id"], r["task_id"]) in keys]
        return found

    def _cost(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> dict[str, Any]:
        scope, params = _scope(dag_ids)
        rows = self.store.fetch(
            "SELECT model, SUM(input_tokens), SUM(output_tokens), SUM(cost) FROM aimod_outcomes "
            f"WHERE ended_at > ? AND ended_at <= ?{scope} GROUP BY model", (now - window, now, *params))
        by_model, unpriced = {}, []
        for model, inp, out, recorded in rows:
            priced = self.prices.cost(model, int(inp), int(out))
            by_model[model] = round(priced if priced is not None else float(recorded), 6)
            if priced is None and not recorded and (inp or out):
                unpriced.append(model)
        return {"cost": round(sum(by_model.values()), 6), "cost_by_model": by_model, "unpriced_models": sorted(unpriced)}


def _health_row(agent: str) -> dict[str, Any]:
    return {"agent": agent, "runs": 0, "finished": 0, "succeeded": 0, "escalated": 0, "failed": 0, "waiting": 0,
            "running": 0, "pending": 0, "p50_s": None, "p95_s": None, "input_tokens": 0, "output_tokens": 0,
            "llm_calls": 0, "errors": 0, "timeouts": 0}


def _count(row: dict[str, Any], run: Run) -> None:
    """Add ``run`` to a health row or a series bucket."""
    if "agent" in row:
        row["runs"] += 1
        row["pending"] += 0 if run.finished else 1
        row["input_tokens"] += run.input_tokens
        row["output_tokens"] += run.output_tokens
        row["llm_calls"] += run.llm_calls
    if run.verdict in row:
        row[run.verdict] += 1
    row["finished"] += 1 if run.finished else 0


def _rates(row: dict[str, Any]) -> dict[str, float | None]:
    """Success, escalation and error rates of the finished runs (None when none finished)."""
    n = row["finished"]
    return {f"{name}_rate": (row[key] / n if n else None)
            for name, key in (("success", "succeeded"), ("escalation", "escalated"), ("error", "failed"))}


def _scope(dag_ids: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """SQL restricting rows to ``dag_ids`` (None: no restriction; empty: nothing)."""
    if dag_ids is None:
        return "", ()
    if not dag_ids:
        return " AND 1 = 0", ()
    ids = tuple(sorted(dag_ids))
    return f" AND dag_id IN ({', '.join('?' for _ in ids)})", ids
