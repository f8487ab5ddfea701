"""``WindowView``: one window's runs, counted by the database where Airflow has nothing to add.

A run is *settled* when its agent recorded how it ended (answered, refused, rejected, failed,
budget_exceeded, escalated) and Airflow holds its task in no state that overrides the agent (failed,
up for retry, awaiting input, running, queued, deferred, ...; ``success`` agrees with the agent). Its
verdict is the agent's, its times are the agent's, and it is counted with GROUP BY in the database:
only the figures, and the rows a call shows, travel to Python.

The rest is *open* and reconciled in Python by ``reconcile`` (a few rows on a working deployment):
runs the store has as still going or paused, runs of tasks Airflow has in an overriding state, every
try of those tasks, and tasks with no outcome at all. The settled statements leave out the open runs by
key, and by trace where requests are counted, so no run is counted twice.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from airflow_aimod.core.store.base import EventStore
from airflow_aimod.core.store.reconcile import (
    ERROR_STATUSES, OVERRIDING_STATES, Run, TaskKey, TaskStates, outcome_key, reconcile, settled_run)
from airflow_aimod.core.store.records import SUCCESS_STATUSES

TERMINAL = SUCCESS_STATUSES | ERROR_STATUSES | {"escalated"}
OUTCOME_FIELDS = ("trace_id", "agent", "task_id", "dag_id", "run_id", "status", "reason", "request", "model",
                  "started_at", "ended_at", "input_tokens", "output_tokens", "llm_calls", "needed_human", "map_index")


def in_list(values: Collection[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"  # our own constants, never user input


IS_SQL = {"succeeded": f"status IN {in_list(SUCCESS_STATUSES)}", "failed": f"status IN {in_list(ERROR_STATUSES)}",
          "escalated": "status = 'escalated'"}  # a settled run's verdict, as a condition
VERDICT_SQL = (f"CASE WHEN {IS_SQL['succeeded']} THEN 'succeeded' WHEN {IS_SQL['failed']} THEN 'failed' "
               "ELSE 'escalated' END")
SERIES_BUCKETS = 24  # the page's chart: counts are read once at this width unless a call asks for another
HUMAN_SQL = "CASE WHEN needed_human <> 0 OR status = 'escalated' THEN 1 ELSE 0 END"


class WindowView:
    """The runs of ``(now - window, now]`` (and every open one, whenever it began), split settled/open."""

    def __init__(self, store: EventStore, *, window: float, now: float, dag_ids: Collection[str] | None = None,
                 task_states: TaskStates | None = None) -> None:
        self.store, self.window, self.now, self.dag_ids = store, window, now, dag_ids
        self.scope, self.scope_params = scope_sql(dag_ids)
        rows, tasks = self._open_rows(task_states)
        self.open: list[Run] = reconcile(rows, tasks, window=window, now=now)
        since = now - window
        self._excluded = sorted({(r["trace_id"], r["agent"], r["task_id"]) for r in rows
                                 if r["status"] in TERMINAL and since < r["ended_at"] <= now})
        self.open_traces = sorted({r.trace_id for r in self.open if r.trace_id} | {r["trace_id"] for r in rows})
        self._open_requests: list[Run] | None = None
        self._counts: dict[float, list[tuple[str, int, str, int, int, int, int]]] = {}

    # -- the settled part, in SQL ------------------------------------------------------------
    def settled_where(self, *, by_trace: bool = False) -> tuple[str, tuple[Any, ...]]:
        """WHERE clause (and parameters) of the window's settled outcomes; ``by_trace``: only requests with
        no open run at all."""
        where = f"ended_at > ? AND ended_at <= ? AND status IN {in_list(TERMINAL)}{self.scope}"
        params: tuple[Any, ...] = (self.now - self.window, self.now, *self.scope_params)
        if by_trace and self.open_traces:
            where += f" AND trace_id NOT IN ({', '.join('?' for _ in self.open_traces)})"
            params += tuple(self.open_traces)
        elif self._excluded:
            where += (" AND (trace_id, agent, task_id) NOT IN (VALUES "
                      + ", ".join("(?, ?, ?)" for _ in self._excluded) + ")")
            params += tuple(v for key in self._excluded for v in key)
        return where, params

    def fetch(self, sql: str, params: tuple[Any, ...] = (), *, by_trace: bool = False) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``{settled}`` replaced by the settled WHERE clause (its parameters go first)."""
        where, settled_params = self.settled_where(by_trace=by_trace)
        return self.store.fetch(sql.replace("{settled}", where), (*settled_params, *params))

    def ranks(self, source: str, extra: list[tuple[str, float]], pcts: tuple[int, ...] = (50, 95), *,
              by_trace: bool = False) -> dict[str, dict[int, float]]:
        """Nearest-rank percentiles per group of ``source`` (a SELECT of (group, value) over ``{settled}``)
        together with the ``extra`` (group, value) pairs: {group: {pct: value}}."""
        union = (" UNION ALL VALUES " + ", ".join("(CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION))" for _ in extra)
                 if extra else "")
        wanted = " OR ".join(f"k = (n * {p} + 99) / 100" for p in pcts)
        rows = self.fetch(f"WITH d(grp, v) AS ({source}{union}), r AS (SELECT grp, v, ROW_NUMBER() OVER "
                          f"(PARTITION BY grp ORDER BY v) AS k, COUNT(*) OVER (PARTITION BY grp) AS n FROM d) "
                          f"SELECT grp, k, n, v FROM r WHERE {wanted}",
                          tuple(x for pair in extra for x in pair), by_trace=by_trace)
        found: dict[str, dict[int, float]] = {}
        for grp, k, n, v in rows:
            for p in pcts:
                if int(k) == max((int(n) * p + 99) // 100, 1):
                    found.setdefault(grp, {})[p] = float(v)
        return found

    def counts(self, width: float | None = None) -> list[tuple[str, int, str, int, int, int, int]]:
        """Settled runs per (agent, time bucket of ``width`` s from the window's start, verdict): count, input and
        output tokens, LLM calls. One statement per width, kept; ``None``: any width already read."""
        if width is None:
            width = next(iter(self._counts), self.window / SERIES_BUCKETS)
        if width not in self._counts:
            bucket = self.store.bucket("ended_at", self.now - self.window, width)
            self._counts[width] = [
                (agent, int(index), verdict, int(n), int(inp or 0), int(out or 0), int(calls or 0))
                for agent, index, verdict, n, inp, out, calls in self.fetch(
                    f"SELECT agent, {bucket}, {VERDICT_SQL}, COUNT(*), SUM(input_tokens), SUM(output_tokens), "
                    "SUM(llm_calls) FROM aimod_outcomes WHERE {settled} GROUP BY 1, 2, 3")]
        return self._counts[width]

    def settled_runs(self, where: str = "", params: tuple[Any, ...] = (), *, by_trace: bool = False,
                     tail: str = "") -> list[Run]:
        """Settled outcomes as runs (``where`` narrows them, ``tail`` orders and limits)."""
        rows = self.fetch(f"SELECT {', '.join(OUTCOME_FIELDS)} FROM aimod_outcomes WHERE {{settled}}{where}{tail}",
                          params, by_trace=by_trace)
        return [settled_run(dict(zip(OUTCOME_FIELDS, row))) for row in rows]

    def runs(self) -> list[Run]:
        """Every run of the window: the settled ones, then the open ones."""
        return self.settled_runs() + self.open

    def open_requests(self) -> list[Run]:
        """The open runs and the settled runs of the requests (traces) they belong to."""
        if self._open_requests is None:
            traces, settled = self.open_traces, []
            for i in range(0, len(traces), 500):
                chunk = tuple(traces[i:i + 500])
                settled += self.settled_runs(f" AND trace_id IN ({', '.join('?' for _ in chunk)})", chunk)
            self._open_requests = settled + self.open
        return self._open_requests

    # -- the open part, reconciled -----------------------------------------------------------
    def _open_rows(self, task_states: TaskStates | None) -> tuple[list[dict[str, Any]], list]:
        since, params = self.now - self.window, self.scope_params
        rows = self._outcomes(f"ended_at > ? AND ended_at <= ? AND status NOT IN {in_list(TERMINAL)}{self.scope}",
                              (since, self.now, *params))
        if task_states is None:
            return rows, []
        tasks = task_states.in_window(window=self.window, now=self.now, dag_ids=self.dag_ids,
                                      states=OVERRIDING_STATES)
        keys = {t.key for t in tasks} | {_key(r) for r in rows if r["task_id"]}
        have = {(r["trace_id"], r["agent"], r["task_id"]) for r in rows}
        rows += [r for r in self._outcomes_of(keys) if (r["trace_id"], r["agent"], r["task_id"]) not in have]
        unknown = {_key(r) for r in rows if r["task_id"]} - {t.key for t in tasks}
        return rows, tasks + (task_states.for_keys(unknown) if unknown else [])

    def _outcomes(self, where: str, params: tuple) -> list[dict[str, Any]]:
        rows = self.store.fetch(f"SELECT {', '.join(OUTCOME_FIELDS)} FROM aimod_outcomes WHERE {where}", params)
        return [dict(zip(OUTCOME_FIELDS, row)) for row in rows]

    def _outcomes_of(self, keys: set[TaskKey]) -> list[dict[str, Any]]:
        """Every outcome (every try, whenever) of these task instances, looked up by run, 200 runs a query."""
        runs, found = sorted({k[1] for k in keys}), []
        for i in range(0, len(runs), 200):
            chunk = runs[i:i + 200]
            found += [r for r in self._outcomes(f"run_id IN ({', '.join('?' for _ in chunk)}){self.scope}",
                                                (*chunk, *self.scope_params)) if _key(r) in keys]
        return found


def _key(row: dict[str, Any]) -> TaskKey:
    return outcome_key(row)


def scope_sql(dag_ids: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """SQL restricting rows to ``dag_ids`` (None: no restriction; empty: nothing)."""
    if dag_ids is None:
        return "", ()
    if not dag_ids:
        return " AND 1 = 0", ()
    ids = tuple(sorted(dag_ids))
    return f" AND dag_id IN ({', '.join('?' for _ in ids)})", ids


