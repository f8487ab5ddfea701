"""The AiMod page, rendered on the server: business figures, agent health, charts, approvals, a trace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any
from urllib.parse import urlencode

from airflow_aimod.plugins.charts import bar_chart, rate_chart, timeline

WINDOWS = ("1h", "24h", "7d", "30d")
ALERT_RATE = 0.9
ALERT_ERROR_RATE = 1 - ALERT_RATE
TRACE_FILTERS = ("all", "failed", "escalated", "waiting", "running", "succeeded")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#212529;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}.muted{color:#6c757d}
nav a{margin-right:8px;padding:2px 8px;border-radius:10px;text-decoration:none;color:#6f42c1;border:1px solid #d0bfff}
nav a.on{background:#6f42c1;color:#fff}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #dee2e6;border-radius:8px;padding:8px 14px;min-width:130px}.card b{display:block;font-size:22px}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e9ecef;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}.bad{color:#dc3545;font-weight:600}.ok{color:#198754}
.esc{color:#b35c00}.why{text-align:left;max-width:420px;white-space:pre-wrap}.req{text-align:left;max-width:320px}
.charts{display:flex;flex-wrap:wrap;gap:14px}.chart{margin:0}figcaption{font-size:13px;color:#495057}
svg text.tick,svg text.lbl{font-size:11px;fill:#495057}.timeline{border:1px solid #e9ecef;border-radius:6px}
"""

_JS = """
document.getElementById('trace-pick')?.addEventListener('change', e => {
  const q = new URLSearchParams(location.search); q.set('trace', e.target.value); location.search = q.toString();
});
document.getElementById('trace-filter')?.addEventListener('change', e => {
  const q = new URLSearchParams(location.search); q.set('status', e.target.value); q.delete('trace');
  location.search = q.toString();
});
// Inside the Airflow UI the page sits in a sandboxed iframe that may not navigate the top window:
// links to Airflow pages move the UI's own router instead (same origin), as its menu would.
document.querySelectorAll('a[target="_top"]').forEach(a => a.addEventListener('click', e => {
  if (window.top === window) return;
  try {
    const url = new URL(a.href, location.href);
    if (url.origin !== window.top.location.origin) return;
    e.preventDefault();
    window.top.history.pushState({}, '', url.pathname + url.search);
    window.top.dispatchEvent(new PopStateEvent('popstate'));
  } catch (err) { /* cross-origin UI: leave the link to the browser */ }
}));
"""


@dataclass(frozen=True)
class PageData:
    """Everything the page shows, already queried and scoped to the user's DAGs."""

    window: str
    now: float
    user: str
    base: str
    agents: list[dict[str, Any]]
    series: list[dict[str, Any]]
    business: dict[str, Any]
    approvals: list[dict[str, Any]]
    recent: list[dict[str, Any]]
    trace: dict[str, Any] | None
    attention: list[dict[str, Any]] = ()
    status: str = "all"
    examples: list[dict[str, Any]] = ()  # verified examples, newest first (``plugins.examples``)


def render_page(d: PageData) -> str:
    """The whole HTML document."""
    from airflow_aimod.plugins.examples import examples_section

    body = "".join((_header(d), _business(d.business), _health(d.agents), _attention(d), _charts(d.series),
                    _approvals(d), _trace(d), examples_section(list(d.examples), now=d.now, ago=_ago)))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AiMod</title>'
            f'<style>{_CSS}</style></head><body>{body}<script>{_JS}</script></body></html>')


def _header(d: PageData) -> str:
    links = "".join(f'<a class="{"on" if w == d.window else ""}" href="?{urlencode({"window": w})}">{w}</a>'
                    for w in WINDOWS)
    stamp = datetime.fromtimestamp(d.now, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<h1>AiMod — agents in production</h1><p class="muted">Signed in as {escape(d.user)} · '
            f'window {escape(d.window)} up to {stamp}</p><nav aria-label="window">{links}</nav>')


def _business(b: dict[str, Any]) -> str:
    total = b.get("requests", b["requests_resolved"])
    cards = [("Requests", total), ("Requests resolved", b["requests_resolved"]),
             ("Tasks completed", b["tasks_completed"]), ("Failed", b.get("requests_failed", 0)),
             ("Escalated to a person", b.get("requests_escalated", 0)),
             ("Needed a human", f'{b["needed_human"]} ({_pct(b["human_share"])})' if total else "—"),
             ("Time to resolution p50", _secs(b["resolution_p50_s"])),
             ("Time to resolution p95", _secs(b["resolution_p95_s"])), ("Estimated cost", f'${b["cost"]:,.2f}')]
    html = "".join(f'<div class="card"><span class="muted">{escape(k)}</span><b>{escape(str(v))}</b></div>'
                   for k, v in cards)
    note = (f'<p class="muted">No price for: {escape(", ".join(b["unpriced_models"]))} (set [aimod] price_table).</p>'
            if b.get("unpriced_models") else "")
    waiting = (f'<p class="muted">{b["requests_waiting"]} request(s) still waiting for a person count as '
               'needing one.</p>' if b.get("requests_waiting") else "")
    return f'<h2>Business</h2><div class="cards" id="business">{html}</div>{note}{waiting}'


def _health(agents: list[dict[str, Any]]) -> str:
    if not agents:
        return '<h2>Agent health</h2><p class="muted" id="health">No agent runs in this window.</p>'
    head = ("Agent", "Runs", "Succeeded", "Escalated", "Failed", "Waiting", "p50", "p95", "Tokens in", "Tokens out",
            "Error events", "Timeouts")
    rows = "".join(
        f'<tr data-agent="{escape(a["agent"])}"><td>{escape(a["agent"])}</td><td>{a["runs"]}</td>'
        f'<td class="ok">{_count(a["succeeded"], a["success_rate"])}</td>'
        f'<td class="{"esc" if a["escalated"] else ""}">{_count(a["escalated"], a["escalation_rate"])}</td>'
        f'<td class="{_error_class(a["error_rate"])}">{_count(a["failed"], a["error_rate"])}</td>'
        f'<td>{_waiting(a)}</td>'
        f'<td>{_secs(a["p50_s"])}</td><td>{_secs(a["p95_s"])}</td>'
        f'<td>{a["input_tokens"]:,}</td><td>{a["output_tokens"]:,}</td><td>{a["errors"]}</td>'
        f'<td>{a["timeouts"]}</td></tr>' for a in agents)
    cols = "".join(f"<th>{h}</th>" for h in head)
    legend = (f'<p class="muted">Rates are of finished runs, as Airflow ended their tasks. Failed in red from '
              f'{ALERT_ERROR_RATE:.0%}; an escalation (a person takes over, by design) is reported, not alerted.</p>')
    return (f'<h2>Agent health</h2><table id="health"><thead><tr>{cols}</tr></thead><tbody>{rows}</tbody></table>'
            f'{legend}')


def _attention(d: PageData) -> str:
    if not d.attention:
        return '<h2>Needs attention</h2><p class="muted" id="attention">Nothing failed, escalated or waiting.</p>'
    head = "".join(f"<th>{h}</th>" for h in ("When", "Status", "Agent", "Request", "Why", "Links"))
    rows = "".join(_attention_row(d, r) for r in d.attention)
    return f'<h2>Needs attention</h2><table id="attention"><tr>{head}</tr>{rows}</table>'


def _attention_row(d: PageData, r: dict[str, Any]) -> str:
    from airflow_aimod.plugins.links import task_links

    links = []
    if r.get("trace_id"):
        links.append(f'<a href="?{urlencode({"window": d.window, "trace": r["trace_id"]})}#trace">trace</a>')
    for label, url in task_links(d.base, r):
        links.append(f'<a target="_top" href="{escape(url)}">{escape(label)}</a>')
    status = r["verdict"] + (f' (Airflow: {r["airflow_state"]})' if r.get("airflow_state") not in (None, "", "success")
                             else "")
    cls = "bad" if r["verdict"] == "failed" else "esc"
    return (f'<tr class="att-{escape(r["verdict"])}"><td>{_stamp(r["ended_at"])}</td><td class="{cls}">'
            f'{escape(status)}</td><td>{escape(r["agent"])}</td><td class="req">{escape(r.get("request") or "—")}</td>'
            f'<td class="why">{escape(r.get("reason") or "")}</td><td>{" · ".join(links)}</td></tr>')


def _charts(series: list[dict[str, Any]]) -> str:
    times = [s["start"] for s in series] + ([series[-1]["end"]] if series else [])
    runs = bar_chart([s["runs"] for s in series], title="Finished runs", times=times)
    rate = rate_chart([s["success_rate"] for s in series], title="Success rate (dashed: 90% alert)",
                      floor=ALERT_RATE, times=times, counts=[(s["succeeded"], s["finished"]) for s in series])
    errors = bar_chart([s["failed"] for s in series], title="Failed runs", color="#dc3545", times=times)
    tokens = bar_chart([s["tokens"] for s in series], title="Tokens", color="#0d6efd", times=times)
    return f'<h2>Over time</h2><div class="charts" id="charts">{runs}{rate}{errors}{tokens}</div>'


def _approvals(d: PageData) -> str:
    if not d.approvals:
        return '<h2>Pending approvals</h2><p class="muted" id="approvals">Nothing is waiting for a person.</p>'
    rows = "".join(
        f'<tr><td>{escape(a["agent"])}</td><td>{escape(a["dag_id"])}</td><td>{escape(a["task_id"])}</td>'
        f'<td style="text-align:left">{escape(a["reason"])}</td><td>{_ago(d.now - a.get("waiting_since", a["ended_at"]))}</td>'
        f'<td><a target="_top" href="{escape(a["url"])}">Answer in Required Actions</a></td></tr>' for a in d.approvals)
    head = "".join(f"<th>{h}</th>" for h in ("Agent", "DAG", "Task", "Why", "Waiting", ""))
    link = f'<p><a target="_top" href="{escape(d.base)}/required_actions?response_received=false">All required actions</a></p>'
    return f'<h2>Pending approvals</h2><table id="approvals"><tr>{head}</tr>{rows}</table>{link}'


def _trace(d: PageData) -> str:
    filters = "".join(f'<option value="{f}"{" selected" if f == d.status else ""}>{f}</option>' for f in TRACE_FILTERS)
    pick = f'<label>Status <select id="trace-filter">{filters}</select></label> '
    if d.trace is None:
        return f'<h2 id="traces">Trace</h2>{pick}<p class="muted" id="trace">No traces in this window.</p>'
    current = d.trace["trace_id"]
    options = "".join(
        f'<option value="{escape(r["trace_id"])}"{" selected" if r["trace_id"] == current else ""}>'
        f'{_stamp(r["ended_at"])} · {escape(r["status"])} · {escape(_short(r["request"]) or r["trace_id"][:12])}'
        f'</option>' for r in d.recent)
    if current not in {r["trace_id"] for r in d.recent}:
        options = f'<option selected value="{escape(current)}">{escape(current[:12])}</option>' + options
    more = '<p class="muted">Showing the first events only.</p>' if d.trace.get("truncated") else ""
    return (f'<h2 id="traces">Trace</h2>{pick}<label>Request <select id="trace-pick">{options}</select></label>'
            f'<div id="trace" data-trace-id="{escape(current)}"><p class="muted">trace {escape(current)} · '
            f'{len(d.trace["events"])} events</p>{timeline(d.trace)}{more}</div>')


def _short(text: str, n: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%m-%d %H:%M:%S")


def _waiting(a: dict[str, Any]) -> str:
    return f'{a["waiting"]} (+{a["running"]} running)' if a.get("running") else str(a["waiting"])


def _count(n: int, rate: float | None) -> str:
    return f"{n} ({_pct(rate)})" if rate is not None else str(n)


def _error_class(rate: float | None) -> str:
    return "bad" if rate is not None and rate >= ALERT_ERROR_RATE and rate > 0 else ""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min" if value < 3600 else f"{value / 3600:.1f} h"


def _ago(seconds: float) -> str:
    return _secs(max(seconds, 0.0))
