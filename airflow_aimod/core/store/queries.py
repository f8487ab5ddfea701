"""``DashboardQueries``: agent health, business figures, charts, traces and pending approvals.

Pure functions of the store and an injected ``now`` (epoch seconds). Windows are
``(now - window, now]`` on an outcome's ``ended_at`` or an event's ``ts``. Every query
is one aggregated, indexed statement; list results carry a LIMIT. ``dag_ids`` (when given)
restricts everything to those DAGs, which is how the dashboard applies Airflow's DAG permissions.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.pricing import PriceTable, nearest_rank
from airflow_aimod.core.store.records import PENDING_STATUSES, SUCCESS_STATUSES

_SUCCESS = "CASE WHEN status IN ({}) THEN 1 ELSE 0 END".format(", ".join(f"'{s}'" for s in sorted(SUCCESS_STATUSES)))
_PENDING_LIST = ", ".join(f"'{s}'" for s in sorted(PENDING_STATUSES))
_PENDING = f"CASE WHEN status IN ({_PENDING_LIST}) THEN 1 ELSE 0 END"
_EVENT_FIELDS = ("event_id", "trace_id", "agent", "kind", "name", "ts", "dag_id", "run_id", "task_id", "data")
_APPROVAL_FIELDS = ("trace_id", "agent", "dag_id", "run_id", "task_id", "reason", "started_at", "ended_at")


class DashboardQueries:
    """Read side of the AiMod store; ``price_table`` turns tokens into cost."""

    def __init__(self, store: EventStore, *, price_table: PriceTable | None = None) -> None:
        self.store = store
        self.prices = price_table or PriceTable()

    def agent_health(self, *, window: float, now: float, dag_ids: Collection[str] | None = None) -> list[dict]:
        """Per agent: runs, success rate, latency p50/p95 (s), tokens, errors and timeouts in the window."""
        scope, params = _scope(dag_ids)
        rows = self.store.fetch(
            f"SELECT agent, COUNT(*), SUM({_SUCCESS}), SUM({_PENDING}), SUM(input_tokens), SUM(output_tokens), "
            f"SUM(llm_calls) FROM aimod_outcomes WHERE ended_at > ? AND ended_at <= ?{scope} GROUP BY agent",
            (now - window, now, *params))
        health = {row[0]: _health_row(*row) for row in rows}
        for agent, (p50, p95) in self._latency(window=window, now=now, dag_ids=dag_ids).items():
            health[agent].update(p50_s=p50, p95_s=p95)
        for agent, errors, timeouts in self._errors(window=window, now=now, dag_ids=dag_ids):
            health.setdefault(agent, _health_row(agent, 0, 0, 0, 0, 0, 0)).update(errors=errors, timeouts=timeouts)
        return [health[agent] for agent in sorted(health)]

    def series(self, *, window: float, now: float, buckets: int = 24, agent: str | None = None,
               dag_ids: Collection[str] | None = None) -> list[dict]:
        """Finished runs per time bucket (oldest first): runs, successes, success rate, tokens."""
        if buckets < 1 or window <= 0:
            raise ValueError("series needs window > 0 and buckets >= 1")
        width = window / buckets
        scope, params = _scope(dag_ids)
        if agent:
            scope, params = scope + " AND agent = ?", (*params, agent)
        bucket = self.store.bucket("ended_at", now - window, width)
        rows = self.store.fetch(
            f"SELECT {bucket} AS b, COUNT(*), SUM({_SUCCESS}), SUM(input_tokens + output_tokens) FROM aimod_outcomes "
            f"WHERE ended_at > ? AND ended_at <= ? AND status NOT IN ({_PENDING_LIST}){scope} GROUP BY b",
            (now - window, now, *params))
        out = [{"start": now - window + i * width, "runs": 0, "succeeded": 0, "tokens": 0} for i in range(buckets)]
        for index, runs, ok, tokens in rows:
            slot = out[min(int(index), buckets - 1)]
            slot.update(runs=slot["runs"] + runs, succeeded=slot["succeeded"] + int(ok), tokens=slot["tokens"] + int(tokens))
        for slot in out:
            slot["success_rate"] = slot["succeeded"] / slot["runs"] if slot["runs"] else None
        return out

    def business(self, *, window: float, now: float, dag_ids: Collection[str] | None = None) -> dict[str, Any]:
        """Requests resolved (every run final) and completed (every run succeeded), share that needed a
        human, time to resolution (first start to last end, approval waits included), estimated cost."""
        traces = self._traces(window=window, now=now, dag_ids=dag_ids)
        done = [t for t in traces if t[4] == 0 and now - window < t[2] <= now]
        resolution = sorted(t[2] - t[1] for t in done)
        human = sum(1 for t in done if t[3])
        return {
            "requests_resolved": len(done), "tasks_completed": sum(1 for t in done if t[5] == t[6]),
            "needed_human": human,
            "human_share": human / len(done) if done else None,
            "resolution_p50_s": nearest_rank(resolution, 50), "resolution_p95_s": nearest_rank(resolution, 95),
            "resolution_mean_s": sum(resolution) / len(resolution) if resolution else None,
            **self._cost(window=window, now=now, dag_ids=dag_ids),
        }

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

    def pending_approvals(self, *, limit: int = 100, dag_ids: Collection[str] | None = None) -> list[dict]:
        """Runs paused for a person (status needs_approval), newest first."""
        scope, params = _scope(dag_ids)
        rows = self.store.fetch(f"SELECT {', '.join(_APPROVAL_FIELDS)} FROM aimod_outcomes "
                                f"WHERE status = 'needs_approval'{scope} ORDER BY ended_at DESC LIMIT ?",
                                (*params, int(limit)))
        return [dict(zip(_APPROVAL_FIELDS, row)) for row in rows]

    def recent_traces(self, *, limit: int = 20, dag_ids: Collection[str] | None = None) -> list[dict]:
        """The latest outcomes (one per agent run), newest first, to pick a trace from."""
        scope, params = _scope(dag_ids)
        keys = ("trace_id", "agent", "status", "dag_id", "ended_at")
        rows = self.store.fetch(f"SELECT {', '.join(keys)} FROM aimod_outcomes WHERE 1 = 1{scope} "
                                "ORDER BY ended_at DESC LIMIT ?", (*params, int(limit)))
        return [dict(zip(keys, row)) for row in rows]

    # -- parts ---------------------------------------------------------------------------------
    def _latency(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> dict[str, tuple]:
        scope, params = _scope(dag_ids)
        rows = self.store.fetch(
            "SELECT agent, n, rn, dur FROM (SELECT agent, ended_at - started_at AS dur, COUNT(*) OVER w AS n, "
            "ROW_NUMBER() OVER (w ORDER BY ended_at - started_at) AS rn FROM aimod_outcomes "
            f"WHERE ended_at > ? AND ended_at <= ? AND status NOT IN ({_PENDING_LIST}){scope} "
            "WINDOW w AS (PARTITION BY agent)) ranked WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100",
            (now - window, now, *params))
        found: dict[str, dict[int, float]] = {}
        for agent, n, rn, dur in rows:
            found.setdefault(agent, {})[rn] = float(dur)
            found[agent]["n"] = n
        return {a: (v[(v["n"] * 50 + 99) // 100], v[(v["n"] * 95 + 99) // 100]) for a, v in found.items()}

    def _errors(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> list[tuple]:
        scope, params = _scope(dag_ids)
        return self.store.fetch(
            "SELECT agent, COUNT(*), SUM(CASE WHEN detail = 'AgentTimeout' THEN 1 ELSE 0 END) FROM aimod_events "
            f"WHERE kind = 'error' AND ts > ? AND ts <= ?{scope} GROUP BY agent", (now - window, now, *params))

    def _traces(self, *, window: float, now: float, dag_ids: Collection[str] | None) -> list[tuple]:
        scope, params = _scope(dag_ids)
        return self.store.fetch(
            f"SELECT trace_id, MIN(started_at), MAX(ended_at), MAX(needed_human), SUM({_PENDING}), "
            f"SUM({_SUCCESS}), COUNT(*) "
            "FROM aimod_outcomes WHERE trace_id IN (SELECT trace_id FROM aimod_outcomes "
            f"WHERE ended_at > ? AND ended_at <= ?{scope}) GROUP BY trace_id", (now - window, now, *params))

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


def _health_row(agent: str, runs: int, ok: Any, pending: Any, inp: Any, out: Any, calls: Any) -> dict[str, Any]:
    finished = int(runs) - int(pending or 0)
    return {"agent": agent, "runs": int(runs), "finished": finished, "succeeded": int(ok or 0),
            "pending": int(pending or 0), "success_rate": int(ok or 0) / finished if finished else None,
            "p50_s": None, "p95_s": None, "input_tokens": int(inp or 0), "output_tokens": int(out or 0),
            "llm_calls": int(calls or 0), "errors": 0, "timeouts": 0}


def _scope(dag_ids: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """SQL restricting rows to ``dag_ids`` (None: no restriction; empty: nothing)."""
    if dag_ids is None:
        return "", ()
    if not dag_ids:
        return " AND 1 = 0", ()
    ids = tuple(sorted(dag_ids))
    return f" AND dag_id IN ({', '.join('?' for _ in ids)})", ids
