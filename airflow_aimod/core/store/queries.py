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
from airflow_aimod.core.store.reconcile import (
    ERROR_STATUSES, OVERRIDING_STATES, Run, TaskKey, TaskStates, outcome_key, reconcile)
from airflow_aimod.core.store.window import HUMAN_SQL, IS_SQL, WindowView, in_list, scope_sql

Runs = WindowView | list[Run] | None  # a view of the window, its runs, or None: build one

_EVENT_FIELDS = ("event_id", "trace_id", "agent", "kind", "name", "ts", "dag_id", "run_id", "task_id", "data")
_APPROVAL_FIELDS = ("trace_id", "agent", "dag_id", "run_id", "task_id", "reason", "started_at", "ended_at")
_OUTCOME_FIELDS = ("trace_id", "agent", "task_id", "dag_id", "run_id", "status", "reason", "request", "model",
                   "started_at", "ended_at", "input_tokens", "output_tokens", "llm_calls", "needed_human", "map_index")


class DashboardQueries:
    """Read side of the AiMod store; ``price_table`` turns tokens into cost; ``task_states`` (Airflow's
    task-instance states, see ``reconcile``) decides how each run ended — without it, the store alone does."""

    def __init__(self, store: EventStore, *, price_table: PriceTable | None = None,
                 task_states: TaskStates | None = None) -> None:
        self.store = store
        self.prices = price_table or PriceTable()
        self.task_states = task_states

    def view(self, *, window: float, now: float, dag_ids: Collection[str] | None = None) -> WindowView:
        """The window's runs, settled ones counted in SQL, open ones reconciled with Airflow (``window``)."""
        return WindowView(self.store, window=window, now=now, dag_ids=dag_ids, task_states=self.task_states)

    def runs(self, *, window: float, now: float, dag_ids: Collection[str] | None = None) -> list[Run]:
        """Every agent run of the window (and every one still going), reconciled with Airflow."""
        return self.view(window=window, now=now, dag_ids=dag_ids).runs()

    def agent_health(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                     runs: Runs = None) -> list[dict]:
        """Per agent: runs, how they ended (succeeded, escalated to a person, failed) as counts and rates of
        the finished ones, waiting/running, latency p50/p95 (s), tokens, error events and timeouts.
        ``runs``: a ``view`` (or a list of runs) of the same window, to share one between calls."""
        runs = self._runs(runs, window, now, dag_ids)
        health: dict[str, dict[str, Any]] = {}
        if isinstance(runs, WindowView):
            for agent, _, verdict, n, inp, out, calls in runs.counts():
                row = health.setdefault(agent, _health_row(agent))
                for key, value in (("runs", n), (verdict, n), ("finished", n), ("input_tokens", inp),
                                   ("output_tokens", out), ("llm_calls", calls)):
                    row[key] += value
            ranks = runs.ranks("SELECT agent, ended_at - started_at FROM aimod_outcomes WHERE {settled}",
                               [(r.agent, r.ended_at - r.started_at) for r in runs.open if r.finished])
            listed = runs.open
        else:
            durations: dict[str, list[float]] = {}
            for r in runs:
                if r.finished:
                    durations.setdefault(r.agent, []).append(r.ended_at - r.started_at)
            ranks = {a: {p: nearest_rank(sorted(d), p) for p in (50, 95)} for a, d in durations.items()}
            listed = runs
        for run in listed:
            _count(health.setdefault(run.agent, _health_row(run.agent)), run)
        for agent, errors, timeouts in self._errors(window=window, now=now, dag_ids=dag_ids):
            health.setdefault(agent, _health_row(agent)).update(errors=int(errors), timeouts=int(timeouts or 0))
        for agent, row in health.items():
            row.update(_rates(row), p50_s=ranks.get(agent, {}).get(50), p95_s=ranks.get(agent, {}).get(95))
        return [health[agent] for agent in sorted(health)]

    def series(self, *, window: float, now: float, buckets: int = 24, agent: str | None = None,
               dag_ids: Collection[str] | None = None, runs: Runs = None) -> list[dict]:
        """Finished runs per time bucket (oldest first): runs, how they ended, rates, tokens."""
        if buckets < 1 or window <= 0:
            raise ValueError("series needs window > 0 and buckets >= 1")
        width = window / buckets
        runs = self._runs(runs, window, now, dag_ids)
        out = [{"start": now - window + i * width, "end": now - window + (i + 1) * width, "runs": 0, "finished": 0,
                "succeeded": 0, "escalated": 0, "failed": 0, "tokens": 0} for i in range(buckets)]
        listed = runs.open if isinstance(runs, WindowView) else runs
        if isinstance(runs, WindowView):
            for name, index, verdict, n, inp, outp, _ in runs.counts(width):
                if agent is None or name == agent:
                    slot = out[min(max(index, 0), buckets - 1)]
                    for key in ("runs", "finished", verdict):
                        slot[key] += n
                    slot["tokens"] += inp + outp
        for run in listed:
            if run.finished and (agent is None or run.agent == agent):
                slot = out[min(max(int((run.ended_at - (now - window)) // width), 0), buckets - 1)]
                slot["runs"] += 1
                _count(slot, run)
                slot["tokens"] += run.input_tokens + run.output_tokens
        for slot in out:
            slot.update(_rates(slot))
        return out

    def business(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                 runs: Runs = None) -> dict[str, Any]:
        """Requests of the window: resolved (every run over), completed (every run succeeded), failed,
        escalated, waiting; how many needed a person (those still waiting included); time to resolution
        (first start to last end, approval waits included); estimated cost."""
        runs = self._runs(runs, window, now, dag_ids)
        figures = _request_figures(runs.open_requests() if isinstance(runs, WindowView) else runs)
        resolution = figures.pop("resolution")
        if isinstance(runs, WindowView):
            settled, p50, p95 = _settled_requests(runs, resolution)
            total = settled.pop("resolution") + sum(resolution)
            count = settled["requests_resolved"] + len(resolution)
            figures = {key: value + settled[key] for key, value in figures.items()}
            mean = total / count if count else None
        else:
            resolution.sort()
            p50, p95 = nearest_rank(resolution, 50), nearest_rank(resolution, 95)
            mean = sum(resolution) / len(resolution) if resolution else None
        requests = figures["requests"]
        return {**figures, "human_share": figures["needed_human"] / requests if requests else None,
                "resolution_p50_s": p50, "resolution_p95_s": p95, "resolution_mean_s": mean,
                **self._cost(window=window, now=now, dag_ids=dag_ids)}

    def attention(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                  runs: Runs = None, limit: int = 100) -> list[dict]:
        """Runs that need a look: failed, escalated or waiting for a person, newest first."""
        runs = self._runs(runs, window, now, dag_ids)
        listed = runs.open if isinstance(runs, WindowView) else runs
        picked = [r for r in listed if r.verdict in ("failed", "escalated", "waiting")]
        if isinstance(runs, WindowView):
            picked += self._with_tasks(runs.settled_runs(
                f" AND status IN {in_list(ERROR_STATUSES | {'escalated'})}", (int(limit),),
                tail=" ORDER BY ended_at DESC LIMIT ?"))
        return [r.to_dict() for r in sorted(picked, key=lambda r: -r.ended_at)[:limit]]

    def requests(self, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                 runs: Runs = None, status: str | None = None, limit: int = 50) -> list[dict]:
        """One entry per request (trace) of the window, newest first: time, request text, status, agents."""
        runs = self._runs(runs, window, now, dag_ids)
        status = None if status in (None, "", "all") else status
        if not isinstance(runs, WindowView):
            return _request_entries(runs, status)[:limit]
        out = _request_entries(runs.open_requests(), status)[:limit]
        if status in (None, "failed", "escalated", "succeeded"):
            bad, esc = (f"MAX(CASE WHEN {IS_SQL[v]} THEN 1 ELSE 0 END)" for v in ("failed", "escalated"))
            having = {None: "", "failed": f" HAVING {bad} = 1", "escalated": f" HAVING {bad} = 0 AND {esc} = 1",
                      "succeeded": f" HAVING {bad} = 0 AND {esc} = 0"}[status]
            traces = [t for t, _ in runs.fetch("SELECT trace_id, MAX(ended_at) AS latest FROM aimod_outcomes WHERE "
                                               "{settled} GROUP BY trace_id" + having + " ORDER BY latest DESC LIMIT ?",
                                               (int(limit),), by_trace=True)]
            if traces:
                out += _request_entries(runs.settled_runs(f" AND trace_id IN ({', '.join('?' for _ in traces)})",
                                                          tuple(traces)), status)
        return sorted(out, key=lambda r: -r["ended_at"])[:limit]

    def trace(self, trace_id: str, *, limit: int = 2000, dag_ids: Collection[str] | None = None) -> dict[str, Any]:
        """One request: its events in time order (at most ``limit``) and its agents' outcomes."""
        scope, params = scope_sql(dag_ids)
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
            scope, params = scope_sql(dag_ids)
            rows = self.store.fetch(f"SELECT {', '.join(_APPROVAL_FIELDS)} FROM aimod_outcomes "
                                    f"WHERE status = 'needs_approval'{scope} ORDER BY ended_at DESC LIMIT ?",
                                    (*params, int(limit)))
            return [{**dict(zip(_APPROVAL_FIELDS, row)), "waiting_since": row[-1]} for row in rows]
        now = time.time() if now is None else now
        scope, params = scope_sql(dag_ids)
        rows = self._outcomes(f"status = 'needs_approval'{scope} ORDER BY ended_at DESC LIMIT ?", (*params, 1000))
        tasks = self.task_states.in_window(window=60.0, now=now, dag_ids=dag_ids, states=OVERRIDING_STATES)
        have = {outcome_key(r) for r in rows}
        rows += self._outcomes_of({t.key for t in tasks} - have, scope, params)
        unknown = {outcome_key(r) for r in rows if r["task_id"]} - {t.key for t in tasks}
        tasks += self.task_states.for_keys(unknown) if unknown else []
        waiting = [r for r in reconcile(rows, tasks, window=60.0, now=now) if r.verdict == "waiting"]
        return [{**{k: getattr(r, k) for k in _APPROVAL_FIELDS}, "waiting_since": r.extra.get("waiting_since",
                                                                                             r.ended_at)}
                for r in sorted(waiting, key=lambda r: -r.ended_at)[:limit]]

    def recent_traces(self, *, limit: int = 20, dag_ids: Collection[str] | None = None) -> list[dict]:
        """The latest outcomes (one per agent run), newest first, to pick a trace from."""
        scope, params = scope_sql(dag_ids)
        keys = ("trace_id", "agent", "status", "dag_id", "ended_at")
        rows = self.store.fetch(f"SELECT {', '.join(keys)} FROM aimod_outcomes WHERE 1 = 1{scope} "
                                "ORDER BY ended_at DESC LIMIT ?", (*params, int(limit)))
        return [dict(zip(keys, row)) for row in rows]

    # -- parts ---------------------------------------------------------------------------------
    def _runs(self, runs: Runs, window: float, now: float, dag_ids: Collection[str] | None) -> WindowView | list[Run]:
        return self.view(window=window, now=now, dag_ids=dag_ids) if runs is None else runs

    def _with_tasks(self, runs: list[Run]) -> list[Run]:
        """Settled runs a call shows, with the try and state Airflow has for their task."""
        keys = {(r.dag_id, r.run_id, r.task_id, r.map_index) for r in runs if r.task_id}
        if self.task_states is None or not keys:
            return runs
        tasks = {t.key: t for t in self.task_states.for_keys(keys)}
        for run in runs:
            if (task := tasks.get((run.dag_id, run.run_id, run.task_id, run.map_index))) is not None:
                run.airflow_state, run.try_number = task.state, task.try_number
        return runs

    def _errors(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> list[tuple]:
        scope, params = scope_sql(dag_ids)
        return self.store.fetch(
            "SELECT agent, COUNT(*), SUM(CASE WHEN detail = 'AgentTimeout' THEN 1 ELSE 0 END) FROM aimod_events "
            f"WHERE kind = 'error' AND ts > ? AND ts <= ?{scope} GROUP BY agent", (now - window, now, *params))

    def _outcomes(self, where: str, params: tuple) -> list[dict[str, Any]]:
        rows = self.store.fetch(f"SELECT {', '.join(_OUTCOME_FIELDS)} FROM aimod_outcomes WHERE {where}", params)
        return [dict(zip(_OUTCOME_FIELDS, row)) for row in rows]

    def _outcomes_of(self, keys: set[TaskKey], scope: str, params: tuple) -> list[dict[str, Any]]:
        """The outcomes of these task instances (looked up by run, 200 runs a query)."""
        runs, found = sorted({k[1] for k in keys}), []
        for i in range(0, len(runs), 200):
            chunk = runs[i:i + 200]
            found += [r for r in self._outcomes(f"run_id IN ({', '.join('?' for _ in chunk)}){scope}",
                                                (*chunk, *params)) if outcome_key(r) in keys]
        return found

    def _cost(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> dict[str, Any]:
        scope, params = scope_sql(dag_ids)
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


def _request_figures(runs: list[Run]) -> dict[str, Any]:
    """Counts of the requests ``runs`` belong to (and the resolution time of each one over)."""
    requests: dict[str, list[Run]] = {}
    for run in runs:
        requests.setdefault(run.trace_id or f"task:{run.dag_id}/{run.run_id}/{run.task_id}", []).append(run)
    done = [rs for rs in requests.values() if all(r.finished for r in rs)]
    return {
        "requests": len(requests), "requests_resolved": len(done),
        "tasks_completed": sum(1 for rs in done if all(r.verdict == "succeeded" for r in rs)),
        "requests_failed": sum(1 for rs in done if any(r.verdict == "failed" for r in rs)),
        "requests_escalated": sum(1 for rs in done if any(r.verdict == "escalated" for r in rs)
                                  and not any(r.verdict == "failed" for r in rs)),
        "requests_waiting": sum(1 for rs in requests.values() if any(r.verdict == "waiting" for r in rs)),
        "needed_human": sum(1 for rs in requests.values() if any(r.needed_human for r in rs)),
        "resolution": [max(r.ended_at for r in rs) - min(r.started_at for r in rs) for rs in done],
    }


def _settled_requests(view: WindowView, open_resolution: list[float]) -> tuple[dict[str, Any], Any, Any]:
    """Figures of the requests with no open run, in one statement: counts, the sum of their resolution times,
    and the resolution p50/p95 of those together with ``open_resolution`` (the open requests resolved)."""
    per_trace = (f"SELECT MIN(CASE WHEN {IS_SQL['succeeded']} THEN 1 ELSE 0 END) AS ok, "
                 f"MAX(CASE WHEN {IS_SQL['failed']} THEN 1 ELSE 0 END) AS bad, "
                 f"MAX(CASE WHEN {IS_SQL['escalated']} THEN 1 ELSE 0 END) AS esc, "
                 f"MAX({HUMAN_SQL}) AS human, MAX(ended_at) - MIN(started_at) AS res "
                 "FROM aimod_outcomes WHERE {settled} GROUP BY trace_id")
    extra = "".join(" UNION ALL VALUES (CAST(? AS DOUBLE PRECISION))" for _ in open_resolution)
    rows = view.fetch(
        f"WITH t AS ({per_trace}), s AS (SELECT COUNT(*) AS n, SUM(ok) AS ok, SUM(bad) AS bad, "
        "SUM(CASE WHEN esc = 1 AND bad = 0 THEN 1 ELSE 0 END) AS esc, SUM(human) AS human, SUM(res) AS total FROM t), "
        f"d(v) AS (SELECT res FROM t{extra}), r AS (SELECT v, ROW_NUMBER() OVER (ORDER BY v) AS k, "
        "COUNT(*) OVER () AS m FROM d) SELECT s.n, s.ok, s.bad, s.esc, s.human, s.total, r.k, r.m, r.v FROM s "
        "LEFT JOIN r ON r.k = (r.m * 50 + 99) / 100 OR r.k = (r.m * 95 + 99) / 100",
        tuple(open_resolution), by_trace=True)
    n, ok, bad, esc, human, total = rows[0][:6]
    found = {p: float(v) for *_, k, m, v in rows if k is not None
             for p in (50, 95) if int(k) == max((int(m) * p + 99) // 100, 1)}
    figures = {"requests": int(n or 0), "requests_resolved": int(n or 0), "tasks_completed": int(ok or 0),
               "requests_failed": int(bad or 0), "requests_escalated": int(esc or 0), "requests_waiting": 0,
               "needed_human": int(human or 0),
               "resolution": float(total or 0)}
    return figures, found.get(50), found.get(95)


def _request_entries(runs: list[Run], status: str | None) -> list[dict[str, Any]]:
    """One entry per trace of ``runs`` (in ``status`` when given), newest first."""
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
    return sorted((r for r in out if status is None or r["status"] == status), key=lambda r: -r["ended_at"])
