"""Questions about MLflow runs answered by code: the best run by a metric in a window, what changed between two
runs, the latest runs. A query is a small validated object (what an LLM or the offline planner proposes);
``answer`` computes from the runs' own numbers, so the reply cannot invent a metric or a winner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_aimod.core.ml.policy import LOWER_IS_BETTER
from airflow_aimod.exceptions import ConfigurationError

KINDS = ("best", "compare", "latest")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class RunQuery:
    """``best``: the top ``limit`` runs by ``metric`` (``order`` max/min; default by the metric's direction) started
    within ``since_days``; ``compare``: two ``run_ids`` (ids or run names); ``latest``: the newest ``limit`` runs."""

    kind: str
    metric: str | None = None
    order: str | None = None
    since_days: float | None = None
    run_ids: tuple[str, ...] = field(default=())
    limit: int = 3

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> RunQuery:
        """A query from a model's JSON reply; anything malformed is a ConfigurationError saying what."""
        if not isinstance(data, Mapping):
            raise ConfigurationError("the query must be a JSON object")
        try:
            since = data.get("since_days")
            return cls(kind=str(data.get("kind")), metric=data.get("metric") or None, order=data.get("order") or None,
                       since_days=None if since in (None, "") else float(since),
                       run_ids=tuple(str(r) for r in data.get("run_ids") or ()), limit=int(data.get("limit") or 3))
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"malformed query: {exc}") from None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigurationError(f"query kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "best" and not self.metric:
            raise ConfigurationError("a 'best' query needs a metric")
        if self.kind == "compare" and len(self.run_ids) != 2:
            raise ConfigurationError("a 'compare' query needs exactly two runs")
        if self.order not in (None, "max", "min"):
            raise ConfigurationError(f"order must be max or min, got {self.order!r}")
        if not 1 <= self.limit <= 50 or (self.since_days is not None and self.since_days <= 0):
            raise ConfigurationError("limit must be 1-50 and since_days positive")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "metric": self.metric, "order": self.order, "since_days": self.since_days,
                "run_ids": list(self.run_ids), "limit": self.limit}


def answer(query: RunQuery, runs: Sequence[Mapping[str, Any]], *, now_ms: int) -> dict[str, Any]:
    """The answer to ``query`` over ``runs`` (``MlflowTracker.search_runs`` dicts)."""
    if query.kind == "compare":
        return _compare(query, runs)
    window = [r for r in runs if query.since_days is None or (r.get("start_time") or 0) >= now_ms - query.since_days * DAY_MS]
    if query.kind == "latest":
        newest = sorted(window, key=lambda r: -(r.get("start_time") or 0))[:query.limit]
        return {"kind": "latest", "runs": [_brief(r) for r in newest], "considered": len(window)}
    have = [r for r in window if isinstance(r["metrics"].get(query.metric), (int, float))]
    if not have:
        known = sorted({m for r in runs for m in r["metrics"]})
        raise ConfigurationError(f"no run{_window_text(query)} has metric {query.metric!r}; metrics: {', '.join(known)}")
    order = query.order or ("min" if query.metric in LOWER_IS_BETTER or "loss" in query.metric else "max")
    ranked = sorted(have, key=lambda r: r["metrics"][query.metric], reverse=order == "max")[:query.limit]
    return {"kind": "best", "metric": query.metric, "order": order, "considered": len(have),
            "runs": [{**_brief(r), "value": r["metrics"][query.metric]} for r in ranked]}


def _compare(query: RunQuery, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    a, b = (_find(runs, ref) for ref in query.run_ids)
    keys = lambda part: sorted(set(a[part]) | set(b[part]))  # noqa: E731
    params = {k: {"a": a["params"].get(k), "b": b["params"].get(k)} for k in keys("params")
              if a["params"].get(k) != b["params"].get(k)}
    metrics = {}
    for k in keys("metrics"):
        va, vb = a["metrics"].get(k), b["metrics"].get(k)
        if va != vb:
            delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
            metrics[k] = {"a": va, "b": vb, "change": None if delta is None else float(f"{delta:.6g}")}
    return {"kind": "compare", "a": _brief(a), "b": _brief(b), "params_changed": params, "metrics_changed": metrics,
            "params_same": len(keys("params")) - len(params)}


def _find(runs: Sequence[Mapping[str, Any]], ref: str) -> Mapping[str, Any]:
    hits = [r for r in runs if ref in (r["run_id"], r.get("run_name"))] or \
        [r for r in runs if len(ref) >= 6 and r["run_id"].startswith(ref)]
    if len(hits) != 1:
        raise ConfigurationError(f"run {ref!r} is {'ambiguous' if hits else 'not among the runs read'}")
    return hits[0]


def _brief(run: Mapping[str, Any]) -> dict[str, Any]:
    return {"run_id": run["run_id"], "run_name": run.get("run_name"), "start_time": run.get("start_time"),
            "status": run.get("status")}


def _window_text(query: RunQuery) -> str:
    return f" in the last {query.since_days:g} day(s)" if query.since_days else ""
