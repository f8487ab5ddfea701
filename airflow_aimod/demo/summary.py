"""Render the demo's results as a summary a person reads in a terminal."""

from __future__ import annotations

from typing import Any

MAX_ROWS_SHOWN = 5


def render(results: list[dict[str, Any]]) -> str:
    """One block per request: route, confidence, outcome, SQL, rows, tokens, trace id."""
    blocks = [_block(i, r) for i, r in enumerate(results, 1)]
    return "\n\n".join(blocks) + "\n\n" + _totals(results)


def _block(index: int, run: dict[str, Any]) -> str:
    xcom = run["xcom"]
    route = xcom.get("route.return_value") or {}
    lines = [f"[{index}] {run['request']}",
             f"    route      : {route.get('agent')} (confidence {route.get('confidence', 0):.2f}) "
             f"-> {route.get('decision')} -> task {route.get('branch')}",
             f"    trace id   : {route.get('trace_id')}"]
    answer = xcom.get("sql_agent.return_value") or xcom.get("sql_agent.aimod_outcome")
    if answer:
        lines += _sql_lines(answer)
    for task in ("human_review", "agent_unavailable"):
        if xcom.get(f"{task}.return_value"):
            lines.append(f"    outcome    : {task}: {xcom[f'{task}.return_value'].get('reason')}")
    lines.append(f"    dag run    : {run['state']} ({_states(run)})")
    return "\n".join(lines)


def _sql_lines(answer: dict[str, Any]) -> list[str]:
    result = answer.get("result") or {}
    pending = answer.get("pending_approval") or {}
    usage = answer.get("token_usage") or {}
    lines = [f"    status     : {answer.get('status')} - {answer.get('reason')}"]
    proposed = {f.get("name"): f.get("value") for f in pending.get("editable") or ()}
    sql = result.get("sql") or proposed.get("sql")
    if sql:
        lines.append(f"    sql        : {' '.join(str(sql).split())}")
    if result.get("columns"):
        lines.append(f"    columns    : {result['columns']}")
        for row in (result.get("rows") or [])[:MAX_ROWS_SHOWN]:
            lines.append(f"      {[round(v, 2) if isinstance(v, float) else v for v in row]}")
        extra = (result.get("row_count") or 0) - MAX_ROWS_SHOWN
        if extra > 0:
            lines.append(f"      ... {extra} more row(s)")
    lines.append(f"    tokens     : {usage.get('total_tokens', 0)} in {usage.get('llm_calls', 0)} LLM call(s)")
    return lines


def _totals(results: list[dict[str, Any]]) -> str:
    routes = [r["xcom"].get("route.return_value") or {} for r in results]
    dispatched = sum(1 for r in routes if r.get("decision") == "dispatch")
    return (f"{len(results)} requests: {dispatched} dispatched to an agent, {len(results) - dispatched} "
            f"sent to a person; all runs {'succeeded' if all(r['state'] == 'success' for r in results) else 'did NOT all succeed'}.")


def render_anomalies(run: dict[str, Any], *, spike_day: str) -> str:
    """The anomaly part: what each detector flagged, what the rule concluded, which branch ran."""
    xcom = run["xcom"]
    lines = [f"[anomalies] {run['request']} on a warehouse copy with extra orders on {spike_day}"]
    for task in ("weekday_baseline", "whole_series"):
        out = xcom.get(f"{task}.return_value") or {}
        result = out.get("result") or {}
        flagged = [f"{f['ts'][:10]} ({f['value']:g})" for f in (result.get("detection") or {}).get("flags", [])]
        lines.append(f"    {task:<17}: {(result.get('assessment') or {}).get('verdict')} - "
                     f"flagged {', '.join(flagged) or 'nothing'}")
        if result.get("explanation"):
            lines.append(f"    {'':<17}  {result['explanation']}")
    judged = xcom.get("arbitrate.return_value") or {}
    lines.append(f"    arbitration      : {judged.get('outcome')} -> {judged.get('verdict')} "
                 f"(decided by {judged.get('decided_by')}): {judged.get('reason')}")
    lines.append(f"    dag run          : {run['state']} ({_states(run)})")
    return "\n".join(lines)


def render_approval(step: dict[str, Any]) -> str:
    """The approval part: the request, the query that waited, who approved it, what it returned."""
    out = step.get("outcome") or {}
    result = out.get("result") or {}
    approvals = out.get("approvals") or [{}]
    lines = [f"[approval] {step['request']}",
             f"    waited on  : Required Actions ({step.get('subject')})",
             f"    approved   : {step.get('chosen_options')} by {step.get('reviewer_name')} "
             f"(user {step.get('reviewer')}) through the REST API",
             f"    sql        : {' '.join(str(result.get('sql') or '').split())}",
             f"    result     : {out.get('status')} - {result.get('row_count', 0)} row(s) from the approved query; "
             f"agent recorded {approvals[-1].get('decision')} by {approvals[-1].get('reviewer')}",
             f"    dag run    : {step.get('state')} ({step.get('run_id')})"]
    if stale := step.get("stale_runs_failed"):
        lines.append(f"    cleaned up : {len(stale)} run(s) an interrupted demo left waiting, marked failed")
    return "\n".join(lines)


def _states(run: dict[str, Any]) -> str:
    return ", ".join(f"{task}={state}" for task, state in sorted(run["tasks"].items()))
